/* Accessibility fixes to the toolchain's markup (Jupyter Book 1: MyST-NB 1.x, docutils,
   sphinx-book-theme 1.3, pydata-sphinx-theme 0.17), in this one file (issue 26). What could be
   fixed by configuration is in _config.yml (permalink names, equations out of the Tab order).
   Each fix below says what it fixes and where it belongs upstream; drop it once upstream has it.
   tests/test_browser.py runs axe-core on every page, light and dark, and fails on any WCAG A/AA
   violation: a theme update that undoes a fix shows there. */
(function () {
  "use strict";

  function fix() {
    // MyST-NB names every "Show code cell source" toggle "Toggle hidden content" (aria-label on
    // the <summary>), so the name a speech user says does not match what they see (WCAG 2.5.3).
    // Without the label the name is the visible text. Upstream: myst_nb/sphinx_.py, visit_HideCellInput.
    document.querySelectorAll("details.hide > summary[aria-label]").forEach(function (summary) {
      summary.removeAttribute("aria-label");
    });

    // The theme's search field button shows "Search Ctrl+K" but is labelled "Search" (2.5.3): let
    // its visible text name it. The icon-only search button keeps its label. Upstream:
    // pydata-sphinx-theme, components/search-button-field.html.
    document.querySelectorAll(".search-button-field[aria-label]").forEach(function (button) {
      button.removeAttribute("aria-label");
    });

    // The colour-mode button's icons carry titles ("Light", "Dark", "System Settings") that count
    // as its visible text, which its label "Color mode" does not contain (2.5.3). The icons are
    // decoration: hide them, and let the label say which mode is on (updated when it changes).
    // The build writes them as inline SVG (book/pageload.py), the title as a <title> inside.
    // Upstream: pydata-sphinx-theme, components/theme-switcher.html.
    document.querySelectorAll(".theme-switch-button").forEach(function (button) {
      button.querySelectorAll("i, svg").forEach(function (icon) {
        icon.removeAttribute("title");
        icon.querySelectorAll("title").forEach(function (title) { title.remove(); });
        icon.setAttribute("aria-hidden", "true");
      });
      function label() {
        var mode = document.documentElement.dataset.mode || "auto";
        var names = {light: "light", dark: "dark", auto: "system setting"};
        button.setAttribute("aria-label", "Color mode: " + (names[mode] || mode));
      }
      label();
      button.addEventListener("click", function () { setTimeout(label, 0); });
    });

    // The sidebar's book title (the theme's logo link) sits outside every landmark, so a screen
    // reader's landmark navigation skips it: put it in a navigation landmark of its own.
    // Upstream: sphinx-book-theme / pydata-sphinx-theme, the primary sidebar's layout.
    document.querySelectorAll(".bd-sidebar-primary a.navbar-brand").forEach(function (link) {
      if (link.closest("nav, header, main, aside, footer, [role]")) return;
      var nav = document.createElement("nav");
      nav.setAttribute("aria-label", "Course home");
      link.parentNode.insertBefore(nav, link);
      nav.appendChild(link);
    });

    // docutils writes the reference list as role="list" whose entries have the deprecated role
    // doc-biblioentry, so the list has no items (WCAG 1.3.1): make each entry a list item.
    // Upstream: docutils' HTML5 writer (citation lists), used by sphinxcontrib-bibtex.
    document.querySelectorAll('[role="list"] > [role="doc-biblioentry"]').forEach(function (entry) {
      entry.setAttribute("role", "listitem");
    });
  }

  // Equations are out of the Tab order (mathjax3_config in _config.yml), but a display equation
  // wider than the column scrolls sideways, and so does a figure on a phone (course.css keeps
  // figures readable there and lets their output box scroll). A region that scrolls must be
  // reachable by keyboard (WCAG 2.1.1): exactly those boxes become Tab stops (the arrow keys then
  // scroll them), measured when the page is ready (and on a page that still loads MathJax, once it
  // has typeset: chained into its startup, so MathJax.startup.promise resolves only after this
  // ran) and when the window changes size. Upstream: MathJax 3 has no such setting (its inTabOrder is all or nothing; MathJax 4 can
  // break long lines instead).
  var SCROLLERS = 'mjx-container[display="true"], div.cell_output';
  function markScrollable() {
    document.querySelectorAll(SCROLLERS).forEach(function (box) {
      var mine = box.hasAttribute("data-a11y-scrolls");
      if (box.scrollWidth > box.clientWidth + 1) {
        if (!mine && box.getAttribute("tabindex") !== "0") {
          box.setAttribute("data-a11y-scrolls", box.getAttribute("tabindex") || "");  // to put back
          box.setAttribute("tabindex", "0");
        }
      } else if (mine) {
        var before = box.getAttribute("data-a11y-scrolls");
        if (before) box.setAttribute("tabindex", before); else box.removeAttribute("tabindex");
        box.removeAttribute("data-a11y-scrolls");
      }
    });
  }
  // Pages whose math the build typeset (book/typeset.py) load no MathJax: their equations are in
  // the HTML already, and window.MathJax stays undefined, so nothing else tries to typeset.
  if (document.querySelector('script[src*="mathjax"]')) {
    var config = (window.MathJax = window.MathJax || {});
    config.startup = config.startup || {};
    var pageReady = config.startup.pageReady;
    config.startup.pageReady = function () {
      var ready = pageReady ? pageReady() : window.MathJax.startup.defaultPageReady();
      return Promise.resolve(ready).then(markScrollable);
    };
  }
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(markScrollable, 200);
  });
  window.addEventListener("load", markScrollable);

  function ready() {
    fix();
    markScrollable();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
