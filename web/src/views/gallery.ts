// The public gallery: anonymous, public and ready assets only.

import { describe, publicAssets } from "../api";
import { h, mount } from "../dom";

const PAGE_SIZE = 48;

export async function renderGallery(root: HTMLElement, page = 1): Promise<void> {
  try {
    const answer = await publicAssets.listPublicAssets({ page, pageSize: PAGE_SIZE });
    const pages = Math.max(1, Math.ceil(Number(answer.total) / PAGE_SIZE));
    mount(
      root,
      h("h1", {}, "Public gallery"),
      h(
        "ul",
        { class: "grid", "aria-label": "Public assets" },
        ...answer.items.map((asset) => {
          const preview = asset.derivatives.find((d) => d.kind === "thumbnail")?.publicUrl ?? asset.publicUrl;
          return h(
            "li",
            { class: "asset" },
            h(
              "a",
              { href: asset.publicUrl ?? "#", "aria-label": asset.originalFileName },
              h("div", { class: "thumb" }, preview ? h("img", { src: preview, alt: asset.altText ?? "", loading: "lazy" }) : null),
              h("span", { class: "name" }, asset.originalFileName),
            ),
            asset.description ? h("p", { class: "description" }, asset.description) : null,
          );
        }),
      ),
      h(
        "nav",
        { class: "pager", "aria-label": "Pages" },
        h("button", { type: "button", disabled: page <= 1, onclick: () => renderGallery(root, page - 1) }, "Previous"),
        h("span", {}, `Page ${page} of ${pages}`),
        h("button", { type: "button", disabled: page >= pages, onclick: () => renderGallery(root, page + 1) }, "Next"),
      ),
    );
  } catch (error) {
    mount(root, h("p", { class: "error", role: "alert" }, describe(error)));
  }
}
