"""Helpers for the browser tests (tests/test_browser.py, tests/test_jupyterlab.py) and the screenshot script.

book.py     which pages and chapters the book has (from _toc.yml), and one strict build per process
server.py   a static file server for the built book on 127.0.0.1 and a free port
cdn.py      the CDN URLs a Jupyter Book 1 page loads, served from the npm packages in node_modules/
chromium.py Debian's chromium driven by Playwright: found, launched, or skipped/failed with a reason
page.py     one visit of a page: console errors, typeset math, images, outputs, all in one record
lab.py      a live JupyterLab or Notebook 7 in its default settings, Run All, and the pictures it shows
shots.py    `python tests/browser/shots.py`: screenshots of each chapter's key figure at two widths
figure_views.py every static figure as built, with deuteranopia and in greyscale, beside its alt text
axe.py      axe-core in a page: the WCAG 2.0/2.1 A and AA violations (and critical or serious ones)
"""
