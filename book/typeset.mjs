// Typeset the math of built book pages with MathJax 3 in node, as the browser did (book/typeset.py).
//
//   node book/typeset.mjs PAGE.html ...
//
// Each page is rewritten in place: every formula MathJax would have typeset in the browser is
// replaced by MathJax's SVG output, with its assistive MathML for screen readers, and MathJax's
// stylesheet and the glyphs (one SVG per page, shared by all its formulas) are added. SVG rather
// than CommonHTML, which needs MathJax's web fonts: measured in README, "Page weight". Its sizes
// are in ex, so the math still matches the x-height of the reader's text font, as in the browser. The page's own MathJax configuration,
// the `window.MathJax = {...}` script that Sphinx writes, says what to typeset: its `tex` options
// (delimiters, escapes) and its `options` (processHtmlClass, ignoreHtmlClass, the menu settings).
// A page without that script is left as it is (it has no math, or is typeset already).
//
// Prints one JSON line per page to stdout: {"page", "formulas", "errors": [TeX error, ...]}.
// Exits non-zero if a page cannot be read, parsed or written.

import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { SVG } = require("mathjax-full/js/output/svg.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { LiteParser, PATTERNS } = require("mathjax-full/js/adaptors/lite/Parser.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const { AssistiveMmlHandler } = require("mathjax-full/js/a11y/assistive-mml.js");
const { AllPackages } = require("mathjax-full/js/input/tex/AllPackages.js");

// The TeX packages of the browser's tex-chtml.js: its default ones, and those it autoloads at a
// formula's first macro from them (all of AllPackages but noerrors and textmacros, which it loads
// only when a page asks). Without noerrors, a TeX error shows as MathJax's error box, as before.
const PACKAGES = AllPackages.filter((name) => !["noerrors", "textmacros"].includes(name));
const CONFIG_SCRIPT = /<script>window\.MathJax = (\{.*?\})<\/script>/s;

// MathJax's LiteParser takes each piece of the page off the front of an array (Array.shift), which
// costs time in proportion to what is left: 4 of the 8 s a 600 kB chapter took. The same parse,
// reading the pieces in order instead.
class Pieces {
  constructor(items) {
    this.items = items;
    this.next = 0;
  }
  get length() {
    return this.items.length - this.next;
  }
  shift() {
    return this.next < this.items.length ? this.items[this.next++] : undefined;
  }
}

LiteParser.prototype.parseFromString = function (text, _format, adaptor) {
  const root = adaptor.createDocument();
  let node = adaptor.body(root);
  const parts = new Pieces(text.replace(/<\?.*?\?>/g, "").split(PATTERNS.tag));
  while (parts.length) {
    const content = parts.shift();
    const tag = parts.shift();
    if (content) this.addText(adaptor, node, content);
    if (tag && tag.charAt(tag.length - 1) === ">") {
      if (tag.charAt(1) === "!") this.addComment(adaptor, node, tag);
      else if (tag.charAt(1) === "/") node = this.closeTag(adaptor, node, tag);
      else node = this.openTag(adaptor, node, tag, parts);
    }
  }
  this.checkDocument(adaptor, root);
  return root;
};

function typesetPage(adaptor, html) {
  const found = CONFIG_SCRIPT.exec(html);
  if (found === null) return null;
  const config = JSON.parse(found[1]);
  const tex = new TeX({ ...(config.tex || {}), packages: PACKAGES });
  // The menu's settings (inTabOrder) are for the browser's context menu, which a typeset page has not:
  // without it no formula is a Tab stop.
  const { menuOptions, ...options } = config.options || {};
  const doc = mathjax.document(html, { ...options, InputJax: tex, OutputJax: new SVG({ fontCache: "global" }) });
  doc.render();
  const errors = [];
  const math = Array.from(doc.math);
  for (const item of math) {
    const error = item.root && findError(item.root);
    if (error) errors.push(`${item.math.trim()}: ${error}`);
  }
  for (const item of math) if (item.typesetRoot) trimContainer(adaptor, item.typesetRoot);
  const styles = adaptor.elementById(adaptor.head(doc.document), "MJX-SVG-styles");
  if (styles) adaptor.append(styles, adaptor.text(SHARED_STYLES));
  const root = adaptor.root(doc.document);
  const text = adaptor.doctype(doc.document) + "\n" + adaptor.outerHTML(root) + "\n";
  return { html: text, formulas: math.length, errors };
}

// What only MathJax's own scripts read (its explorer, its menu), and what an HTML parser does not
// need (the namespaces of inline <svg> and <math>; SVG 2's href for xlink:href): a sixth of the
// bytes of a chapter's formulas. MathJax's stylesheet reads data-c (glyph strokes) and the
// data-mml-node of a few kinds (STYLED), which stay.
const UNREAD = ["data-mjx-texclass", "xmlns", "xmlns:xlink"];
const STYLED = new Set(["merror", "mtable", "maction"]);

// What MathJax writes on every formula and the page's stylesheet can say once (SHARED_STYLES): the
// container's position (for its assistive MathML), the outer group's colour and stroke, and each
// glyph's data-c, there only for the stroke of a <use>. And what nothing reads on an SVG that is
// aria-hidden: its role, and IE's focusable. About 80 kB of a chapter's 450 kB of formulas.
const OUTER_GROUP = { stroke: "currentColor", fill: "currentColor", "stroke-width": "0" };
const SHARED_STYLES = `
mjx-container[jax="SVG"] {
  position: relative;
}

mjx-container[jax="SVG"] > svg > g {
  stroke: currentColor;
  fill: currentColor;
  stroke-width: 0;
}

mjx-container[jax="SVG"] use {
  stroke-width: 3;
}
`;

function trimContainer(adaptor, container) {
  if (adaptor.getAttribute(container, "style") === "position: relative;") adaptor.removeAttribute(container, "style");
  const svg = adaptor.firstChild(container);
  if (svg && adaptor.kind(svg) === "svg") {
    const group = adaptor.firstChild(svg);
    if (group && adaptor.kind(group) === "g" && Object.entries(OUTER_GROUP).every(([k, v]) => adaptor.getAttribute(group, k) === v)) {
      for (const name of Object.keys(OUTER_GROUP)) adaptor.removeAttribute(group, name);
    }
  }
  trim(adaptor, container);
}

function trim(adaptor, node) {
  if (adaptor.kind(node).startsWith("#")) return;
  for (const name of UNREAD) adaptor.removeAttribute(node, name);
  if (!STYLED.has(adaptor.getAttribute(node, "data-mml-node"))) adaptor.removeAttribute(node, "data-mml-node");
  const kind = adaptor.kind(node);
  if (kind === "use") adaptor.removeAttribute(node, "data-c");
  if (kind === "svg" && adaptor.getAttribute(node, "aria-hidden") === "true") {
    adaptor.removeAttribute(node, "focusable");
    if (adaptor.getAttribute(node, "role") === "img") adaptor.removeAttribute(node, "role");
  }
  const href = adaptor.getAttribute(node, "xlink:href");
  if (href) {
    adaptor.removeAttribute(node, "xlink:href");
    adaptor.setAttribute(node, "href", href);
  }
  for (const child of adaptor.childNodes(node)) trim(adaptor, child);
}

// A TeX error (MathJax's error box), or a macro it does not know (noundefined writes it in red).
function findError(node) {
  if (node.isKind("merror")) return node.attributes.get("data-mjx-error") || "TeX error";
  if (node.isKind("mtext") && node.attributes.get("mathcolor") === "red") return "undefined macro";
  for (const child of node.childNodes || []) {
    const found = findError(child);
    if (found) return found;
  }
  return null;
}

function main() {
  const adaptor = liteAdaptor();
  AssistiveMmlHandler(RegisterHTMLHandler(adaptor));
  for (const page of process.argv.slice(2)) {
    const result = typesetPage(adaptor, readFileSync(page, "utf8"));
    if (result !== null) writeFileSync(page, result.html, "utf8");
    const report = { page, formulas: result ? result.formulas : 0, errors: result ? result.errors : [] };
    process.stdout.write(JSON.stringify(report) + "\n");
  }
}

main();
