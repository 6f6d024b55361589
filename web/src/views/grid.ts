// The signed-in home: upload panel, filters and a page of asset cards.

import { assets, contentUrl, describe } from "../api";
import { AssetOrderBy, AssetStatus, OrderDirection, type Asset } from "../gen/tessera/v1/assets_pb";
import { announce, formatBytes, h, mount } from "../dom";
import { uploadFiles } from "../upload";

const PAGE_SIZE = 48;
/** Thumbnails fetched at once: a page loads without flooding the server. */
const THUMBNAIL_CONCURRENCY = 6;

const SORTS: Record<string, [AssetOrderBy, OrderDirection]> = {
  newest: [AssetOrderBy.CREATED_AT_UTC, OrderDirection.DESC],
  oldest: [AssetOrderBy.CREATED_AT_UTC, OrderDirection.ASC],
  largest: [AssetOrderBy.SIZE, OrderDirection.DESC],
  smallest: [AssetOrderBy.SIZE, OrderDirection.ASC],
};

const STATUSES: Record<string, AssetStatus> = {
  "": AssetStatus.UNSPECIFIED,
  pending: AssetStatus.PENDING,
  processing: AssetStatus.PROCESSING,
  ready: AssetStatus.READY,
  failed: AssetStatus.FAILED,
};

const TYPES = ["", "image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/bmp", "image/tiff"];

function select(id: string, label: string, values: string[], names: (v: string) => string): [HTMLLabelElement, HTMLSelectElement] {
  const element = h("select", { id }, ...values.map((v) => h("option", { value: v }, names(v))));
  return [h("label", { for: id }, label), element];
}

export function renderGrid(root: HTMLElement): void {
  let page = 1;
  const search = h("input", { id: "search", type: "search", placeholder: "File name, description…" });
  const [statusLabel, status] = select("status-filter", "Status", Object.keys(STATUSES), (v) => v || "Any status");
  const [typeLabel, type] = select("type-filter", "Type", TYPES, (v) => v || "Any type");
  const [sortLabel, sort] = select("sort", "Sort", Object.keys(SORTS), (v) => v);
  const grid = h("ul", { class: "grid", "aria-label": "Assets" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const summary = h("p", { class: "summary", "aria-live": "polite" });

  const picker = h("input", { id: "files", type: "file", multiple: true, accept: "image/*" });
  const isPublic = h("input", { id: "upload-public", type: "checkbox" });
  const queue = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const start = (files: File[]) => {
    if (files.length === 0) return;
    void Promise.all(
      uploadFiles(files, queue, { isPublic: isPublic.checked, onReady: () => void load() }),
    );
  };
  const drop = h(
    "section",
    {
      class: "card dropzone",
      "aria-label": "Upload images",
      ondragover: (event: Event) => {
        event.preventDefault();
        drop.classList.add("over");
      },
      ondragleave: () => drop.classList.remove("over"),
      ondrop: (event: Event) => {
        event.preventDefault();
        drop.classList.remove("over");
        start([...((event as DragEvent).dataTransfer?.files ?? [])]);
      },
    },
    h("label", { for: "files" }, "Choose images"),
    picker,
    h("label", { class: "inline" }, isPublic, " Public"),
    h(
      "button",
      {
        type: "button",
        onclick: () => {
          start([...(picker.files ?? [])]);
          picker.value = "";
        },
      },
      "Upload",
    ),
    h("p", { class: "hint" }, "…or drop images here."),
    queue,
  );

  async function load(): Promise<void> {
    const [orderBy, orderDirection] = SORTS[sort.value] ?? SORTS.newest;
    try {
      const answer = await assets.listAssets({
        page,
        pageSize: PAGE_SIZE,
        query: search.value.trim(),
        contentType: type.value,
        status: STATUSES[status.value] ?? AssetStatus.UNSPECIFIED,
        orderBy,
        orderDirection,
      });
      const pages = Math.max(1, Math.ceil(Number(answer.total) / PAGE_SIZE));
      summary.textContent = `${answer.totalEstimated ? "about " : ""}${answer.total} assets`;
      mount(grid, ...answer.items.map(card));
      mount(
        pager,
        h("button", { type: "button", disabled: page <= 1, onclick: () => go(page - 1) }, "Previous"),
        h("span", {}, `Page ${page} of ${pages}`),
        h("button", { type: "button", disabled: page >= pages, onclick: () => go(page + 1) }, "Next"),
      );
      void thumbnails(answer.items, grid);
    } catch (error) {
      announce(describe(error), "error");
    }
  }
  const go = (next: number) => {
    page = next;
    void load();
  };
  let typing: number | undefined;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = window.setTimeout(() => go(1), 250);
  });
  for (const control of [status, type, sort]) control.addEventListener("change", () => go(1));

  mount(
    root,
    drop,
    h(
      "section",
      { class: "filters", "aria-label": "Filters" },
      h("label", { for: "search" }, "Search"),
      search,
      statusLabel,
      status,
      typeLabel,
      type,
      sortLabel,
      sort,
    ),
    summary,
    grid,
    pager,
  );
  void load();
}

function card(asset: Asset): HTMLLIElement {
  const status = AssetStatus[asset.status].toLowerCase();
  return h(
    "li",
    { class: "asset", "data-id": asset.id },
    h(
      "a",
      { href: `/assets/${asset.id}`, "data-link": true, "aria-label": asset.originalFileName },
      h("div", { class: "thumb" }),
      h("span", { class: "name" }, asset.originalFileName),
    ),
    h("span", { class: `badge ${status}` }, status),
    h("span", { class: "size" }, formatBytes(asset.size)),
  );
}

/** Object URLs of the page on screen, released when the next page replaces it. */
let shown: string[] = [];

/** Fills the cards' thumbnails a few at a time, through GetAssetContent. */
async function thumbnails(items: Asset[], grid: HTMLElement): Promise<void> {
  shown.forEach((url) => URL.revokeObjectURL(url));
  shown = [];
  const queue = items.filter((a) => a.status === AssetStatus.READY);
  const worker = async () => {
    for (let asset = queue.shift(); asset; asset = queue.shift()) {
      const slot = grid.querySelector(`li[data-id="${asset.id}"] .thumb`);
      if (!slot) continue;
      try {
        const src = await contentUrl(asset.id, "thumbnail");
        shown.push(src);
        slot.replaceChildren(h("img", { src, alt: asset.altText ?? "", loading: "lazy" }));
      } catch {
        slot.textContent = "no preview";
      }
    }
  };
  await Promise.all(Array.from({ length: THUMBNAIL_CONCURRENCY }, worker));
}
