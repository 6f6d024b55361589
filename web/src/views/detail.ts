// One asset: its images, results and latest run; edit, run a skill, download, delete.

import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { JsonObject } from "@bufbuild/protobuf";
import { assets, contentUrl, describe } from "../api";
import { AssetStatus, type Asset } from "../gen/tessera/v1/assets_pb";
import { announce, formatBytes, h, mount } from "../dom";

export async function renderDetail(root: HTMLElement, id: string, navigate: (path: string) => void): Promise<void> {
  mount(root, h("p", {}, "Loading…"));
  let asset: Asset;
  try {
    asset = (await assets.getAsset({ id })).asset!;
  } catch (error) {
    mount(root, h("p", { class: "error", role: "alert" }, describe(error)));
    return;
  }
  const urls: string[] = [];
  const image = async (slot: HTMLElement, kind?: string) => {
    try {
      const src = await contentUrl(asset.id, kind);
      urls.push(src);
      slot.replaceChildren(h("img", { src, alt: asset.altText ?? "" }));
      return src;
    } catch (error) {
      slot.textContent = describe(error);
      return null;
    }
  };
  window.addEventListener("tessera:navigate", () => urls.forEach((u) => URL.revokeObjectURL(u)), { once: true });

  const original = h("figure", { class: "original" });
  const download = h("a", { class: "button", download: asset.originalFileName, href: "#" }, "Download");
  void image(original).then((src) => src && (download.href = src));

  const description = h("textarea", { id: "description" }, asset.description ?? "");
  const altText = h("input", { id: "alt-text", value: asset.altText ?? "" });
  const isPublic = h("input", { id: "is-public", type: "checkbox", checked: asset.isPublic });
  const edit = h(
    "form",
    {
      class: "card",
      "aria-label": "Edit asset",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        try {
          await assets.updateAsset({
            id: asset.id,
            description: description.value,
            altText: altText.value,
            isPublic: isPublic.checked,
          });
          announce("Saved.");
          void renderDetail(root, id, navigate);
        } catch (error) {
          announce(describe(error), "error");
        }
      },
    },
    h("h2", {}, "Details"),
    h("label", { for: "description" }, "Description"),
    description,
    h("label", { for: "alt-text" }, "Alt text"),
    altText,
    h("label", { class: "inline" }, isPublic, " Public"),
    h("button", { type: "submit" }, "Save"),
  );

  const skill = h("select", { id: "skill" });
  const parameters = h("textarea", { id: "skill-parameters", placeholder: '{"width": 512}' });
  const run = h(
    "form",
    {
      class: "card",
      "aria-label": "Run a skill",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        try {
          const text = parameters.value.trim();
          const parsed: JsonObject | undefined = text ? (JSON.parse(text) as JsonObject) : undefined;
          const answer = await assets.runSkill({ id: asset.id, skillName: skill.value, parameters: parsed });
          announce(answer.succeeded ? `${answer.skillName} succeeded.` : `${answer.skillName} failed.`, answer.succeeded ? "info" : "error");
          void renderDetail(root, id, navigate);
        } catch (error) {
          announce(error instanceof SyntaxError ? `Parameters: ${error.message}` : describe(error), "error");
        }
      },
    },
    h("h2", {}, "Run a skill"),
    h("label", { for: "skill" }, "Skill"),
    skill,
    h("label", { for: "skill-parameters" }, "Parameters (JSON)"),
    parameters,
    h("button", { type: "submit" }, "Run skill"),
  );
  void assets.listSkills({}).then((answer) =>
    mount(skill, ...answer.skills.map((s) => h("option", { value: s.skillName, title: s.description }, s.skillName))),
  );

  const remove = h(
    "button",
    {
      type: "button",
      class: "danger",
      onclick: async () => {
        if (!confirm(`Delete ${asset.originalFileName}?`)) return;
        try {
          await assets.deleteAsset({ id: asset.id });
          announce(`${asset.originalFileName} deleted.`);
          navigate("/");
        } catch (error) {
          announce(describe(error), "error");
        }
      },
    },
    "Delete",
  );

  const derivatives = asset.derivatives.map((d) => {
    const slot = h("div", { class: "thumb" });
    void image(slot, d.kind);
    return h(
      "figure",
      { class: "derivative" },
      slot,
      h("figcaption", {}, `${d.kind} · ${d.width ?? "?"}×${d.height ?? "?"} · ${formatBytes(d.size)}`),
    );
  });
  const results = asset.structuredResults.map((r) =>
    h("div", { class: "result" }, h("h3", {}, r.kind), h("pre", {}, pretty(r.payloadJson))),
  );
  const execution = asset.latestExecutionSummary;
  const status = AssetStatus[asset.status].toLowerCase();

  mount(
    root,
    h("p", {}, h("a", { href: "/", "data-link": true }, "← All assets")),
    h("h1", {}, asset.originalFileName),
    h(
      "p",
      { class: "meta" },
      h("span", { class: `badge ${status}` }, status),
      ` ${asset.contentType} · ${asset.width ?? "?"}×${asset.height ?? "?"} · ${formatBytes(asset.size)}`,
      asset.isPublic ? " · public" : " · private",
    ),
    original,
    h("p", { class: "actions" }, download, remove),
    h("section", { "aria-label": "Derivatives" }, h("h2", {}, "Derivatives"), ...(derivatives.length ? derivatives : ["None yet."])),
    h("section", { "aria-label": "Results" }, h("h2", {}, "Results"), ...(results.length ? results : ["None yet."])),
    h(
      "section",
      { "aria-label": "Latest execution" },
      h("h2", {}, "Latest execution"),
      execution
        ? h(
            "div",
            {},
            h(
              "p",
              {},
              `${execution.skillName} (${execution.triggerSource}) ${execution.succeeded ? "succeeded" : "failed"}`,
              execution.completedAtUtc ? ` at ${timestampDate(execution.completedAtUtc).toLocaleString()}` : "",
            ),
            h(
              "ol",
              { class: "steps" },
              ...execution.steps.map((step) =>
                h(
                  "li",
                  { class: step.skipped ? "skipped" : step.succeeded ? "ok" : "failed" },
                  `${step.stepName}: ${step.skipped ? "skipped" : step.succeeded ? "ok" : (step.errorMessage ?? "failed")}`,
                ),
              ),
            ),
          )
        : "None yet.",
    ),
    edit,
    run,
  );
}

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}
