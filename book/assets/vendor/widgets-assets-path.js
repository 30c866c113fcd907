// Make the vendored @jupyter-widgets/html-manager find its fonts next to it in _static/vendor/html-manager/,
// instead of on a CDN or relative to each page. Loads after require.js and before html-manager/embed-amd.js.
(function () {
  var here = new URL("html-manager/", document.currentScript.src).href;
  window.__jupyter_widgets_assets_path__ = here;
  // webpack derives the public path of the inner AMD module from the URL requirejs resolves for it.
  window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": here.replace(/\/$/, "") } });
})();

// html-manager typesets widget labels with the MathJax 2 API (MathJax.Hub.Queue); the book ships MathJax 3.
// Bridge the one call it makes once MathJax 3 has loaded (it loads deferred, before DOMContentLoaded fires).
document.addEventListener("DOMContentLoaded", function () {
  if (window.MathJax && !window.MathJax.Hub) {
    window.MathJax.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          if (Array.isArray(job) && job[0] === "Typeset" && window.MathJax.typesetPromise) {
            window.MathJax.typesetPromise([job[2]]);
          }
        });
      },
    };
  }
});
