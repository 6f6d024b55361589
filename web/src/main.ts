// tessera's console: a single-page app; the server answers every console path
// with index.html and this router picks the view.

import "./style.css";
import { currentSession, signOut } from "./api";
import { h, mount } from "./dom";
import { renderDetail } from "./views/detail";
import { renderGallery } from "./views/gallery";
import { renderGrid } from "./views/grid";
import { renderLogin } from "./views/login";

const main = document.getElementById("main")!;
const header = document.getElementById("header")!;

function navigate(path: string): void {
  history.pushState(null, "", path);
  route();
}

function renderHeader(): void {
  const session = currentSession();
  mount(
    header,
    h("a", { href: "/", "data-link": true, class: "brand" }, "tessera"),
    h("a", { href: "/gallery", "data-link": true }, "Gallery"),
    session
      ? h(
          "span",
          { class: "who" },
          `${session.username} `,
          h(
            "button",
            {
              type: "button",
              onclick: async () => {
                await signOut();
                navigate("/");
              },
            },
            "Sign out",
          ),
        )
      : null,
  );
}

function route(): void {
  window.dispatchEvent(new Event("tessera:navigate"));
  renderHeader();
  const path = location.pathname;
  if (path === "/gallery" || path.startsWith("/gallery/")) {
    document.title = "Gallery · tessera";
    void renderGallery(main);
    return;
  }
  if (!currentSession()) {
    document.title = "Sign in · tessera";
    renderLogin(main, () => route());
    return;
  }
  const detail = /^\/assets\/([^/]+)$/.exec(path);
  if (detail) {
    document.title = "Asset · tessera";
    void renderDetail(main, decodeURIComponent(detail[1]), navigate);
    return;
  }
  document.title = "Assets · tessera";
  renderGrid(main);
}

// Links marked data-link stay inside the app.
document.addEventListener("click", (event) => {
  const link = (event.target as Element).closest("a[data-link]");
  if (!link || event.defaultPrevented || (event as MouseEvent).ctrlKey || (event as MouseEvent).metaKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href") ?? "/");
});
window.addEventListener("popstate", route);
window.addEventListener("tessera:signed-out", () => route());
route();
