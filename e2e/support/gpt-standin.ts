/**
 * A stand-in for Google Publisher Tag (GPT is not on npm). It records targeting and
 * enforces GPT's documented rules the way GPT does: silently (FIELD-NOTES section 2).
 * Injected into pages as a classic script; `window.__gpt` holds what it recorded.
 */
export const GPT_STANDIN = `<script>
(function () {
  var g = window.googletag = window.googletag || { cmd: [] };
  var targeting = {};
  var rejected = [];
  var reserved = /["'=!+#*~;^()<>\\[\\]]/;
  function valid(key, values) {
    if (typeof key !== 'string' || key.length > 20 || /^\\d/.test(key) || /\\s/.test(key)) return false;
    return values.every(function (v) { return typeof v === 'string' && v.length <= 40 && !reserved.test(v); });
  }
  var pubads = {
    setTargeting: function (key, value) {
      var values = Array.isArray(value) ? value.slice() : [value];
      if (valid(key, values)) targeting[key] = values; else rejected.push([key, values]);
      return pubads;
    },
    getTargeting: function (key) { return targeting[key] || []; },
    getTargetingKeys: function () { return Object.keys(targeting); },
    disableInitialLoad: function () {},
    refresh: function () { window.__gpt.refreshes++; }
  };
  g.pubads = function () { return pubads; };
  window.__gpt = { targeting: targeting, rejected: rejected, refreshes: 0 };
  var queued = Array.isArray(g.cmd) ? g.cmd : [];
  g.cmd = { push: function () { for (var i = 0; i < arguments.length; i++) arguments[i](); return 0; } };
  queued.forEach(function (fn) { fn(); });
})();
</script>`;
