/**
 * A stand-in for Google Publisher Tag (GPT is not on npm). It records targeting calls and
 * ad requests, and enforces GPT's documented key-value rules the way GAM does: silently
 * (FIELD-NOTES section 2): a key over 20 characters, starting with a digit or with spaces,
 * or a value over 40 characters or with a reserved character `" ' = ! + # * ~ ; ^ ( ) < > [ ]`
 * is rejected (recorded in `rejected`, never set).
 * Injected into pages as a classic script; `window.__gpt` holds what it recorded:
 * - `targeting`: page-level key-values; `calls`: every set/clear as [target, method, key, values];
 * - `rejected`: [target, key, values] refused by the rules;
 * - `requests`: one per ad request (`display` without disableInitialLoad, or `refresh`):
 *   { slot, targeting } with page-level and slot-level targeting merged, as GAM receives it;
 * - `refreshes`: how many times `refresh` was called.
 */
export const GPT_STANDIN = `<script>
(function () {
  var g = window.googletag = window.googletag || { cmd: [] };
  var targeting = {};
  var calls = [];
  var rejected = [];
  var requests = [];
  var slots = [];
  var initialLoad = true;
  var reserved = /["'=!+#*~;^()<>\\[\\]]/;
  function valid(key, values) {
    if (typeof key !== 'string' || !key || key.length > 20 || /^\\d/.test(key) || /\\s/.test(key) || reserved.test(key)) return false;
    return values.every(function (v) { return typeof v === 'string' && v.length <= 40 && !reserved.test(v); });
  }
  function targetable(name, store, self) {
    self.setTargeting = function (key, value) {
      var values = Array.isArray(value) ? value.slice() : [value];
      calls.push([name, 'setTargeting', key, values]);
      if (valid(key, values)) store[key] = values; else rejected.push([name, key, values]);
      return self;
    };
    self.clearTargeting = function (key) {
      calls.push([name, 'clearTargeting', key]);
      if (key === undefined) Object.keys(store).forEach(function (k) { delete store[k]; }); else delete store[key];
      return self;
    };
    self.getTargeting = function (key) { return store[key] || []; };
    self.getTargetingKeys = function () { return Object.keys(store); };
    return self;
  }
  function request(slot) {
    var merged = {};
    Object.keys(targeting).forEach(function (k) { merged[k] = targeting[k].slice(); });
    Object.keys(slot._t).forEach(function (k) { merged[k] = slot._t[k].slice(); });
    requests.push({ slot: slot.getSlotElementId(), targeting: merged });
  }
  var pubads = targetable('page', targeting, {
    disableInitialLoad: function () { initialLoad = false; },
    enableSingleRequest: function () { return true; },
    refresh: function (list) {
      window.__gpt.refreshes++;
      (list || slots).forEach(request);
    }
  });
  g.pubads = function () { return pubads; };
  g.enableServices = function () {};
  g.defineSlot = function (path, size, div) {
    var store = {};
    var slot = targetable(div, store, {
      _t: store,
      addService: function () { return slot; },
      getSlotElementId: function () { return div; },
      getAdUnitPath: function () { return path; }
    });
    slots.push(slot);
    return slot;
  };
  g.display = function (div) {
    if (initialLoad) slots.filter(function (s) { return s.getSlotElementId() === div; }).forEach(request);
  };
  window.__gpt = { targeting: targeting, calls: calls, rejected: rejected, requests: requests, refreshes: 0 };
  var queued = Array.isArray(g.cmd) ? g.cmd : [];
  g.cmd = { push: function () { for (var i = 0; i < arguments.length; i++) arguments[i](); return 0; } };
  queued.forEach(function (fn) { fn(); });
})();
</script>`;
