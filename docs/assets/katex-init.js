// Render the maths that pymdownx.arithmatex (generic mode) leaves as \( ... \) and \[ ... \],
// with the KaTeX 0.16.47 files vendored in assets/katex/ (katex.min.js, contrib/auto-render.min.js,
// katex.min.css, fonts/*.woff2, LICENSE; from the npm package `katex`), so no CDN is needed.
// document$ is Material's page observable: it fires on the first load and after every
// instant-navigation page change.
document$.subscribe(({ body }) => {
  renderMathInElement(body, {
    delimiters: [
      { left: "\\(", right: "\\)", display: false },
      { left: "\\[", right: "\\]", display: true },
    ],
    throwOnError: false,
  });
});
