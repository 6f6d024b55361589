import { describe, signIn } from "../api";
import { h, mount } from "../dom";

/** The sign-in form; `done` runs once a session is stored. */
export function renderLogin(root: HTMLElement, done: () => void): void {
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      class: "card login",
      "aria-labelledby": "login-title",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        error.textContent = "";
        try {
          await signIn(username.value, password.value);
          done();
        } catch (failure) {
          error.textContent = describe(failure);
        }
      },
    },
    h("h1", { id: "login-title" }, "Sign in to tessera"),
    h("label", { for: "username" }, "Username"),
    username,
    h("label", { for: "password" }, "Password"),
    password,
    h("button", { type: "submit" }, "Sign in"),
    error,
    h("p", {}, h("a", { href: "/gallery", "data-link": true }, "Public gallery")),
  );
  mount(root, form);
  username.focus();
}
