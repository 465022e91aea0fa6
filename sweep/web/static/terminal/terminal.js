/* The site terminal: scan tubes and people, queue every write in IndexedDB, send the queue in
 * batches whenever the server answers. Each write carries a UUID made here, so a resend after a
 * lost answer is recognised by the server and never counts twice. */
(function () {
  "use strict";

  var root = document.getElementById("terminal");
  var CAMPAIGN = root.dataset.campaign;
  var SITE = root.dataset.site;
  var POOL = parseInt(root.dataset.poolSize, 10);
  var BOX = parseInt(root.dataset.boxSize, 10);
  var CSRF = root.dataset.csrf;  // renewed from the page after a log-in elsewhere
  var API = "/api/campaigns/" + CAMPAIGN + "/sites/" + SITE;
  var STATE_KEY = "sweep-terminal:" + CAMPAIGN + ":" + SITE + ":" + root.dataset.user;
  var BATCH = 200;          // scans per request: 2,000 queued go in ten requests
  var SYNC_EVERY_MS = 3000;
  var RECENT = 20;

  var ID18 = /^\d{17}[\dX]$/;
  var ID15 = /^\d{15}$/;
  var PREREG = /^P[0-9A-HJKMNP-TV-Z]{7}$/;
  var CODE = /^[A-Z0-9-]{4,48}$/;
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";

  var el = function (id) { return document.getElementById(id); };
  var state = load();
  var online = navigator.onLine;
  var syncing = false;
  var edits = 0;  // bumped by every local change, so a slow answer never overwrites a newer scan

  // ---- local state: the current tube and the last scans, kept across reloads -----------------
  function load() {
    try {
      var s = JSON.parse(localStorage.getItem(STATE_KEY) || "null");
      if (s && typeof s === "object") return Object.assign({ mode: "sample", box: null }, s);
    } catch (e) { /* a damaged entry starts afresh */ }
    return { tube: null, recent: [], mode: "sample", box: null };
  }
  function save() { edits += 1; localStorage.setItem(STATE_KEY, JSON.stringify(state)); }

  // ---- the queue, in IndexedDB --------------------------------------------------------------
  var dbPromise = new Promise(function (resolve, reject) {
    var req = indexedDB.open("sweep-terminal-" + CAMPAIGN + "-" + SITE, 1);
    req.onupgradeneeded = function () { req.result.createObjectStore("queue", { keyPath: "seq", autoIncrement: true }); };
    req.onsuccess = function () { resolve(req.result); };
    req.onerror = function () { reject(req.error); };
  });
  function tx(mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction("queue", mode);
        var out = work(t.objectStore("queue"));
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }
  function enqueue(op) { return tx("readwrite", function (s) { return s.add(op); }); }
  function queued() { return tx("readonly", function (s) { return s.getAll(); }); }
  function drop(seqs) { return tx("readwrite", function (s) { seqs.forEach(function (k) { s.delete(k); }); }); }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ---- what is shown ----------------------------------------------------------------------------
  function say(text, kind) { var m = el("message"); m.textContent = text; m.dataset.kind = kind || "info"; }
  function render() {
    var t = state.tube;
    el("tube-code").textContent = t ? t.code : "—";
    var filled = t ? t.filled : 0;
    var size = capacity(t);
    el("fill").textContent = filled + "/" + size;
    el("fill-bar").max = size;
    el("fill-bar").value = filled;
    document.querySelector(".tube").dataset.full = String(!!t && (t.sealed || filled >= size));
    el("seal").disabled = !t || t.sealed || filled === 0;
    root.dataset.mode = state.mode;
    root.dataset.sampling = String(state.mode !== "pack");
    MODE_NAMES.forEach(function (m) { el("mode-" + m).setAttribute("aria-pressed", String(state.mode === m)); });
    renderModes();
    var b = state.box;
    el("box-code").textContent = b ? b.code : "—";
    el("box-fill").textContent = (b ? b.tubes : 0) + "/" + BOX;
    document.querySelector(".box").dataset.full = String(!!b && b.tubes >= BOX);
    el("handover").disabled = !b || b.tubes === 0;
    var list = el("recent");
    list.textContent = "";
    state.recent.forEach(function (r) {
      var li = document.createElement("li");
      li.dataset.state = r.state;
      li.dataset.uuid = r.uuid;
      li.textContent = r.label + " → " + r.tube + (r.position ? " #" + r.position : "") + (r.note ? " · " + r.note : "");
      list.appendChild(li);
    });
    queued().then(function (ops) {
      el("queue-count").textContent = String(ops.length);
      var net = el("net");
      if (!online) { net.dataset.state = "offline"; net.innerHTML = "离线 <span class=\"en\">offline</span>"; }
      else if (syncing) { net.dataset.state = "syncing"; net.innerHTML = "同步中 <span class=\"en\">syncing</span>"; }
      else { net.dataset.state = "online"; net.innerHTML = "在线 <span class=\"en\">online</span>"; }
    });
  }
  function remember(entry) {
    state.recent.unshift(entry);
    state.recent = state.recent.slice(0, RECENT);
    save();
  }
  function mark(uuidValue, changes) {
    state.recent.forEach(function (r) { if (r.uuid === uuidValue) Object.assign(r, changes); });
  }

  // ---- scanning -----------------------------------------------------------------------------------
  function validId(v) {
    if (ID15.test(v)) return true;
    if (!ID18.test(v)) return false;
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += parseInt(v[i], 10) * WEIGHTS[i];
    return CHECK[sum % 11] === v[17];
  }
  function masked(v) { return v.length > 10 ? v.slice(0, 6) + "********" + v.slice(-4) : v; }

  function handle(raw) {
    var v = String(raw || "").replace(/\s+/g, "").toUpperCase();
    if (!v) return Promise.resolve();
    if (state.mode === "pack") return packing(v);
    if (ID18.test(v) || ID15.test(v)) return person(v, null);
    if (PREREG.test(v)) return person(null, v);
    if (CODE.test(v)) return openTube(v);
    say("无法识别：" + v + " (not a tube code, ID number or pre-registration code)", "error");
    return Promise.resolve();
  }

  function openTube(code) {
    if (state.tube && !state.tube.sealed && state.tube.filled > 0 && state.tube.filled < capacity(state.tube)) {
      say("当前管 " + state.tube.code + " 未满，请先封管 (seal the current tube first)", "error");
      return Promise.resolve();
    }
    var kind = SAMPLING[state.mode].tube;
    var size = newPoolSize(kind);
    state.tube = { code: code, filled: 0, sealed: false, kind: kind, size: size };
    save();
    say("已开" + (kind === "single" ? "单管 " : (size ? size + "混1管 " : "管 ")) + code + " (" + kind + " tube opened)", "ok");
    var op = { type: "open_tube", uuid: uuid(), code: code, kind: kind, at: new Date().toISOString() };
    if (size) op.pool_size = size;
    return enqueue(op).then(kick);
  }

  function person(idNumber, prereg) {
    if (idNumber && !validId(idNumber)) {
      say("身份证号有误：" + masked(idNumber) + " (invalid ID number)", "error");
      return Promise.resolve();
    }
    var op = newScan();
    if (!op) return Promise.resolve();
    if (idNumber) op.id_number = idNumber; else op.prereg_code = prereg;
    return placed(op, idNumber ? masked(idNumber) : prereg);
  }

  // A scan into the current tube, if it is open, has room and is of the mode's kind; null (and why) if not.
  function newScan() {
    var t = state.tube;
    if (!t || t.sealed || t.filled >= capacity(t)) {
      say("请先扫新的管码 (scan a new tube first)", "error");
      return null;
    }
    var mode = SAMPLING[state.mode];
    if ((t.kind || "pooled") !== mode.tube) {
      say(mode.tube === "single" ? "本模式须单人单管，请扫新管码 (this mode takes a single tube: scan a new one)"
        : "当前管是单管，请扫新管码 (the current tube is a single tube: scan a new one)", "error");
      return null;
    }
    return { type: "scan", uuid: uuid(), tube_code: t.code, kind: mode.scan, sampled_at: new Date().toISOString() };
  }

  function placed(op, label) {
    var t = state.tube;
    t.filled += 1;
    if (t.filled >= capacity(t)) t.sealed = true;
    remember({ uuid: op.uuid, label: label, tube: t.code, position: t.filled, state: "queued" });
    say(t.sealed ? "第 " + t.filled + " 人，已满封管，请扫新管码 (tube full and sealed)" : "第 " + t.filled + " 人 (person " + t.filled + ")", "ok");
    return enqueue(op).then(kick);
  }

  function sealTube() {
    var t = state.tube;
    if (!t || t.sealed || t.filled === 0) return Promise.resolve();
    t.sealed = true;
    save();
    say("已封管 " + t.code + " (sealed)", "ok");
    return enqueue({ type: "seal", uuid: uuid(), code: t.code, at: new Date().toISOString() }).then(kick);
  }

  // ---- modes: pooled, single, retest, home sampling; the walk-in form; the site's retest orders ------
  // Each sampling mode names the kind of tube it opens and the kind of sample it scans into it.
  var SAMPLING = {
    sample: { tube: "pooled", scan: "pooled" },
    single: { tube: "single", scan: "pooled" },
    retest: { tube: "single", scan: "retest" },
    home: { tube: "pooled", scan: "home" },
  };
  var MODE_NAMES = ["sample", "single", "retest", "home", "pack"];
  var RETESTS_EVERY_MS = 30000;
  var OTHER_DOC = /^[A-Z0-9][A-Z0-9-]{3,31}$/;
  var PHONE = /^[0-9+\- ]{7,20}$/;
  if (MODE_NAMES.indexOf(state.mode) < 0) state.mode = "sample";

  function capacity(t) { return !t ? POOL : (t.kind === "single" ? 1 : (t.size || POOL)); }

  // A pooled tube may hold fewer than the round's pool size: a key group pooled 5混1, say.
  function poolSizes() {
    var pick = el("pool-size");
    pick.textContent = "";
    [POOL, 5].filter(function (n, i, all) { return n <= POOL && all.indexOf(n) === i; }).forEach(function (n) {
      var o = document.createElement("option");
      o.value = String(n);
      o.textContent = n + "混1" + (n === POOL ? "（本轮）" : "（重点人群小混采）");
      pick.appendChild(o);
    });
    pick.value = String(state.poolSize || POOL);
    pick.addEventListener("change", function () { state.poolSize = parseInt(pick.value, 10); save(); el("scan").focus(); });
  }
  function newPoolSize(kind) { return kind === "pooled" && state.mode === "sample" && state.poolSize && state.poolSize !== POOL ? state.poolSize : null; }

  function chooseMode(m) {
    state.mode = m;
    save();
    render();
    if (m === "retest") loadRetests();
    el("scan").focus();
  }

  function renderModes() {
    var walkIns = state.mode === "sample" || state.mode === "single" || state.mode === "home";
    el("walkin-open").hidden = !walkIns || !el("walkin-form").hidden;
    if (!walkIns) el("walkin-form").hidden = true;
    renderRetests();
  }

  function tubeBody(o) {
    var t = { code: o.code, opened_at: o.at, kind: o.kind || "pooled" };
    if (o.pool_size) t.pool_size = o.pool_size;
    return t;
  }
  function scanBody(o) {
    var s = { client_uuid: o.uuid, tube_code: o.tube_code, sampled_at: o.sampled_at, kind: o.kind || "pooled" };
    if (o.id_number) s.id_number = o.id_number;
    if (o.prereg_code) s.prereg_code = o.prereg_code;
    if (o.walk_in) s.walk_in = o.walk_in;
    return s;
  }

  // 临时登记: someone not in the registry, registered and scanned into the current tube in one go,
  // through the same queue as any scan (so it works offline too).
  function showWalkIn(open) {
    el("walkin-form").hidden = !open;
    renderModes();
    if (open) el("walkin-number").focus(); else el("scan").focus();
  }

  function walkInRefusal(field, text) {
    say(text, "error");
    el(field).focus();
    return Promise.resolve();
  }

  function walkIn() {
    var docType = el("walkin-doc-type").value;
    var number = el("walkin-number").value.replace(/\s+/g, "").toUpperCase();
    var name = el("walkin-name").value.trim();
    var phone = el("walkin-phone").value.trim();
    var building = el("walkin-building").value.trim().toUpperCase();
    var address = el("walkin-address").value.trim();
    var reason = el("walkin-reason").value;
    var prereg = PREREG.test(number);
    if (!number) return walkInRefusal("walkin-number", "请填写证件号码或预登记码 (document number or pre-registration code required)");
    if (!prereg && docType === "id_card" && !validId(number)) return walkInRefusal("walkin-number", "身份证号有误：" + masked(number) + " (invalid ID number)");
    if (!prereg && docType !== "id_card" && !OTHER_DOC.test(number)) return walkInRefusal("walkin-number", "证件号码应为4至32位字母或数字 (document number: 4-32 letters or digits)");
    if (!name || name.length > 50) return walkInRefusal("walkin-name", "请填写姓名（1至50字） (name: 1-50 characters)");
    if (phone && !PHONE.test(phone)) return walkInRefusal("walkin-phone", "手机号格式不对 (phone malformed)");
    if (!building && !address) return walkInRefusal("walkin-address", "须填写所住楼栋或地址 (say where they stay: a building code or an address)");
    if (address.length > 200) return walkInRefusal("walkin-address", "地址不超过200字 (an address of at most 200 characters)");
    if (!reason) return walkInRefusal("walkin-reason", "请选择来由 (why they are here)");
    var op = newScan();
    if (!op) return Promise.resolve();
    op.walk_in = { name: name, reason: reason };
    if (phone) op.walk_in.phone = phone;
    if (building) op.walk_in.building_code = building;
    if (address) op.walk_in.address = address;
    if (prereg) op.prereg_code = number;
    else { op.walk_in.doc_type = docType; op.walk_in.id_number = number; }
    el("walkin-form").reset();
    el("walkin-form").hidden = true;
    el("scan").focus();
    return placed(op, "临时登记 " + name.slice(0, 1) + "* " + (prereg ? number : maskedDocument(number)));
  }

  // As the registry masks a document (``mask_id_number``): an ID card 6 + 8 stars + 4, others 2 + stars + 2.
  function maskedDocument(v) {
    if (v.length === 18) return v.slice(0, 6) + "********" + v.slice(-4);
    if (v.length <= 4) return v.replace(/./g, "*");
    return v.slice(0, 2) + v.slice(2, -2).replace(/./g, "*") + v.slice(-2);
  }

  // A pre-registration code of someone not in the registry: the server asks for the rest of the form.
  function offerWalkIn(scanOps, item) {
    if (!item.error || item.error.error !== "walk_in_required") return;
    var op = scanOps.filter(function (o) { return o.uuid === item.client_uuid; })[0];
    if (!op || !op.prereg_code) return;
    el("walkin-form").reset();
    el("walkin-number").value = op.prereg_code;
    if (state.mode !== "sample" && state.mode !== "single" && state.mode !== "home") state.mode = "sample";
    showWalkIn(true);
    el("walkin-name").focus();
  }

  // The site's open retest orders (单采复核), kept for when the network is gone.
  function loadRetests() {
    return fetch(API + "/retests", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return;
      return r.json().then(function (list) { state.retests = list; save(); renderRetests(); });
    }).catch(function () {});
  }

  function renderRetests() {
    var list = el("retests");
    list.textContent = "";
    var orders = state.retests || [];
    el("retests-none").hidden = orders.length > 0;
    orders.forEach(function (o) {
      var li = document.createElement("li");
      li.dataset.state = o.status === "sampled" ? "ok" : (o.overdue ? "error" : "queued");
      li.dataset.order = String(o.order_id);
      var due = new Date(o.due_at);
      var hhmm = ("0" + due.getHours()).slice(-2) + ":" + ("0" + due.getMinutes()).slice(-2);
      li.textContent = o.name + " " + o.id_masked + " · 原管 " + o.source_tube_code + " · 限 " + hhmm
        + (o.status === "sampled" ? " · 已采样 sampled" : (o.overdue ? " · 逾期 overdue" : ""));
      list.appendChild(li);
    });
  }

  // ---- boxes: open one by its code, pack sealed tubes into it, hand it over to the courier ----------
  function packing(v) {
    if (ID18.test(v) || ID15.test(v) || PREREG.test(v) || !CODE.test(v)) {
      say("装箱时只扫箱码和管码，采样请切换到“采样” (packing takes box and tube codes; switch to sampling)", "error");
      return Promise.resolve();
    }
    if (!state.box) return openBox(v);
    return packTube(v);
  }

  function openBox(code) {
    state.box = { code: code, tubes: 0 };
    save();
    say("已开箱 " + code + "，请逐管扫码 (box opened: scan the sealed tubes)", "ok");
    return enqueue({ type: "open_box", uuid: uuid(), code: code, at: new Date().toISOString() }).then(kick);
  }

  function packTube(code) {
    var b = state.box;
    if (code === b.code) return Promise.resolve();  // the box's own label scanned twice
    if (b.tubes >= BOX) {
      say("箱 " + b.code + " 已满 " + BOX + " 管，请交接 (box full: hand it over)", "error");
      return Promise.resolve();
    }
    if (state.tube && state.tube.code === code && !state.tube.sealed) {
      say("管 " + code + " 尚未封管，请先封管 (seal the tube before packing it)", "error");
      return Promise.resolve();
    }
    b.tubes += 1;
    var op = { type: "pack", uuid: uuid(), box: b.code, code: code, at: new Date().toISOString() };
    remember({ uuid: op.uuid, label: "管 " + code, tube: "箱 " + b.code, position: b.tubes, state: "queued" });
    say("第 " + b.tubes + " 管已装箱 (tube " + b.tubes + " packed)", "ok");
    return enqueue(op).then(kick);
  }

  // The site's rostered couriers, kept for when the network is gone; a box goes only to one of them.
  function couriers() {
    var pick = el("courier");
    var chosen = pick.value;
    pick.textContent = "";
    [{ staff_id: "", name: "—" }].concat(state.couriers || []).forEach(function (c) {
      var o = document.createElement("option");
      o.value = String(c.staff_id); o.textContent = c.name;
      pick.appendChild(o);
    });
    pick.value = chosen;
  }
  function loadCouriers() {
    return fetch(API + "/couriers", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return;
      return r.json().then(function (list) { state.couriers = list; save(); couriers(); });
    }).catch(function () {});
  }

  function handOver() {
    var b = state.box;
    var pick = el("courier");
    var courier = pick.value;
    if (!b || b.tubes === 0) { say("空箱不交接 (an empty box is not handed over)", "error"); return Promise.resolve(); }
    if (!courier) { say("请选择转运员 (choose the courier)", "error"); pick.focus(); return Promise.resolve(); }
    var name = pick.options[pick.selectedIndex].textContent;
    var op = { type: "handover", uuid: uuid(), box: b.code, courier: parseInt(courier, 10), at: new Date().toISOString() };
    remember({ uuid: op.uuid, label: "交接 箱 " + b.code + " · " + name, tube: b.tubes + " 管", state: "queued" });
    state.box = null;
    pick.value = "";
    save();
    say("箱 " + b.code + " 已交接给 " + name + " (handed over)", "ok");
    render();
    return enqueue(op).then(kick);
  }

  // ---- sending the queue ----------------------------------------------------------------------------
  // A request refused whole (not logged in, a stale CSRF token, too large, a server error, no
  // network) says nothing about the scans in it: they stay queued, the desk is told why and what to
  // do, and they go again. Only an item the server answered with its own error leaves the queue,
  // into the "needs attention" list, kept across reloads until the desk resolves it.
  var batchSize = BATCH;    // halved after a 413, back to BATCH after a batch goes through
  var blocked = null;       // why the queue is waiting: { text, login }
  function post(path, body) {
    return fetch(API + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": CSRF },
      body: JSON.stringify(body),
    });
  }
  function reasonOf(r) { return r.json().catch(function () { return {}; }); }

  // After a log-in in another tab the cookie is new and the page's CSRF token old: read the page
  // again for the token that goes with the cookie (no service worker in the way: not a navigation).
  function renewCsrf() {
    return fetch(location.pathname + location.search, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok || r.redirected) return false;
      return r.text().then(function (html) {
        var m = /data-csrf="([^"]*)"/.exec(html);
        if (!m || !m[1]) return false;
        var changed = m[1] !== CSRF;
        CSRF = m[1];
        root.dataset.csrf = CSRF;
        return changed;
      });
    }).catch(function () { return false; });
  }

  // What a refusal of the whole request means for the queue: "retry" (wait, then the same again),
  // "split" (send the items one by one to find the one at fault), "item" (a request of one item,
  // answered for that item), "login" (wait for a log-in, then the same again).
  function verdict(r, items, e) {
    if (r.status === 401) return "login";
    if (r.status === 403 && (e.field === "csrf_token" || e.field === "authorization" || e.error === "unauthorized")) return "login";
    if (r.status === 413) return items > 1 ? "split" : "item";
    if (r.status >= 500 || r.status === 429 || r.status === 408) return "retry";
    if (r.status === 403 && e.error !== "wrong_site") return "login";
    return items > 1 ? "split" : "item";
  }
  function block(kind, e, status) {
    if (kind === "login") {
      blocked = { login: true, text: "登录已失效或已在别处重新登录：请点“重新登录”，登录后未发送的扫码会自动重发，不会丢失 (log in again; the queued scans are kept and resent)" };
    } else {
      blocked = { login: false, text: "服务器暂时未接收（" + status + "），未发送的扫码已保留，稍后自动重发 (the server did not take the batch: it is kept and resent)" + (e.reason ? " · " + e.reason : "") };
    }
    say(blocked.text, "error");
  }
  function needsAttention(op, reason) {
    state.attention = state.attention || [];
    var label = op.type === "scan" ? (op.id_number ? masked(op.id_number) : op.prereg_code) + " → " + op.tube_code : op.type + " " + (op.code || "");
    state.attention.push({ uuid: op.uuid || String(op.seq), label: label, reason: reason, at: new Date().toISOString() });
    mark(op.uuid, { state: "error", note: reason });
  }

  // Tubes opened offline travel with the scans that follow them: one request, not one a tube.
  function sendScans(opens, scanOps) {
    var ops = opens.concat(scanOps);
    var body = {
      tubes: opens.map(tubeBody),
      scans: scanOps.map(scanBody),
    };
    return post("/scans/batch", body).then(function (r) {
      if (r.status !== 200) {
        return reasonOf(r).then(function (e) {
          var kind = verdict(r, ops.length, e);
          if (kind === "split") { batchSize = 1; return { status: "split" }; }
          if (kind !== "item") { block(kind, e, r.status); return { status: kind }; }
          ops.forEach(function (o) { needsAttention(o, e.reason || ("错误 " + r.status)); });
          say(e.reason || ("错误 " + r.status), "error");
          save();
          return drop(ops.map(function (o) { return o.seq; })).then(function () { return { status: "item" }; });
        });
      }
      return r.json().then(function (answer) {
        blocked = null;
        answer.tubes.forEach(function (t) {
          if (t.status !== "error") return;
          say(t.error.reason, "error");
          if (state.tube && state.tube.code === t.code) state.tube.sealed = true;
        });
        answer.results.forEach(function (item) {
          if (item.status === "error") {
            offerWalkIn(scanOps, item);
            var op = scanOps.filter(function (o) { return o.uuid === item.client_uuid; })[0];
            if (op) needsAttention(op, item.error.reason);
          } else mark(item.client_uuid, { state: "ok", position: item.position, tube: item.tube_code });
        });
        if (answer.errors) say("有 " + answer.errors + " 条未成功，见“待处理” (" + answer.errors + " scans need attention)", "error");
        save();
        return drop(ops.map(function (o) { return o.seq; })).then(function () { return { status: "sent" }; });
      });
    });
  }

  function request(op) {
    var box = "/boxes/" + encodeURIComponent(op.box || op.code);
    switch (op.type) {
      case "open_tube": return post("/tubes", tubeBody(op));
      case "seal": return post("/tubes/" + encodeURIComponent(op.code) + "/seal", { sealed_at: op.at });
      case "open_box": return post("/boxes", { code: op.code, opened_at: op.at });
      case "pack": return post(box + "/tubes", { tube_code: op.code });
      default: return post(box + "/handover", { courier_staff_id: op.courier, handed_at: op.at });
    }
  }

  function sendOne(op) {
    return request(op).then(function (r) {
      var done = function (status) { save(); return drop([op.seq]).then(function () { return { status: status }; }); };
      if (r.ok || (op.type === "seal" && r.status === 409)) {
        blocked = null;
        mark(op.uuid, { state: "ok" });
        return done("sent");
      }
      return reasonOf(r).then(function (e) {
        var kind = verdict(r, 1, e);
        if (kind !== "item") { block(kind, e, r.status); return { status: kind }; }
        // Refused for good (a code used elsewhere, a tube not sealed, a box handed over already).
        say(e.reason || ("错误 " + r.status), "error");
        needsAttention(op, e.reason || ("错误 " + r.status));
        if (op.type === "open_tube" && state.tube && state.tube.code === op.code) state.tube.sealed = true;
        if (op.type === "open_box" && state.box && state.box.code === op.code) state.box = null;
        if (op.type === "pack" && state.box && state.box.code === op.box) state.box.tubes = Math.max(0, state.box.tubes - 1);
        return done("item");
      });
    });
  }

  function flush() {
    if (syncing) return Promise.resolve();
    syncing = true;
    render();
    var renewed = blocked && blocked.login ? renewCsrf() : Promise.resolve(false);
    var step = function () {
      return queued().then(function (ops) {
        if (!ops.length) { batchSize = BATCH; return null; }
        // The leading run of opens and scans goes in one request; a seal, and the boxes, wait for
        // the scans before them and go one by one.
        var opens = [], scans = [];
        for (var i = 0; i < ops.length && (ops[i].type === "scan" || ops[i].type === "open_tube") && scans.length < batchSize; i++) {
          (ops[i].type === "scan" ? scans : opens).push(ops[i]);
        }
        var send = scans.length ? sendScans(opens, scans) : sendOne(ops[0]);
        return send.then(function (r) {
          online = true;
          if (r.status === "login" || r.status === "retry") return null;
          if (r.status === "sent" && batchSize < BATCH) batchSize = Math.min(BATCH, batchSize * 2);
          return step();
        });
      });
    };
    return renewed.then(step)
      .catch(function () { online = false; })
      .then(function () { syncing = false; save(); render(); renderAttention(); return refresh(); });
  }

  // ---- needs attention: items the server refused one by one, until the desk resolves them -------
  function renderAttention() {
    var list = el("attention-list");
    if (!list) return;
    var items = state.attention || [];
    el("attention").hidden = !items.length && !blocked;
    el("attention-count").textContent = String(items.length);
    var why = el("blocked");
    why.hidden = !blocked;
    why.textContent = blocked ? blocked.text : "";
    el("relogin").hidden = !(blocked && blocked.login);
    list.textContent = "";
    items.forEach(function (item, k) {
      var li = document.createElement("li");
      li.dataset.uuid = item.uuid;
      li.appendChild(document.createTextNode(item.label + " · " + item.reason + " "));
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = "已处理 resolved";
      b.addEventListener("click", function () { state.attention.splice(k, 1); save(); renderAttention(); });
      li.appendChild(b);
      list.appendChild(li);
    });
  }
  var relogin = el("relogin");
  if (relogin) relogin.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);

  var kickTimer = null;
  function kick() {
    render();
    if (kickTimer) return;
    // Let a burst of scans gather into one request.
    kickTimer = setTimeout(function () { kickTimer = null; flush(); }, 150);
  }

  // The server's word on the current tube, once nothing of ours is waiting to be sent.
  function refresh() {
    // Counted before the queue is read: a scan made while the queue is being read (its write not yet
    // in the queue) must still make the server's older answer void.
    var seen = edits;
    return queued().then(function (ops) {
      if (ops.length || !online || edits !== seen) return;
      return fetch(API + "/terminal", { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) return;
        return r.json().then(function (s) {
          // A scan made while the answer was on its way is newer than the answer.
          if (!state.tube || edits !== seen) return;
          var tube = s.tubes.filter(function (t) { return t.code === state.tube.code; })[0];
          if (!tube) return;
          state.tube.filled = tube.filled;
          state.tube.sealed = tube.status !== "open";
          save();
          render();
        });
      }).catch(function () { online = false; render(); });
    });
  }

  // ---- camera, where the browser reads barcodes itself ----------------------------------------------
  function camera() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) { el("no-camera").hidden = false; return; }
    var button = el("camera");
    button.hidden = false;
    var stream = null;
    button.addEventListener("click", function () {
      var video = el("video");
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; video.hidden = true; return; }
      var detector = new window.BarcodeDetector({ formats: ["code_128", "qr_code", "code_39", "ean_13"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
        stream = s; video.srcObject = s; video.hidden = false; video.play();
        var last = "";
        var tick = function () {
          if (!stream) return;
          detector.detect(video).then(function (codes) {
            var value = codes.length ? codes[0].rawValue : "";
            if (value && value !== last) { last = value; handle(value); }
          }).catch(function () {}).then(function () { setTimeout(tick, 250); });
        };
        tick();
      }).catch(function () { say("无法打开摄像头 (camera not available)", "error"); });
    });
  }

  // ---- wiring ---------------------------------------------------------------------------------------
  el("scan-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = el("scan");
    var value = input.value;
    input.value = "";
    input.focus();
    handle(value);
  });
  el("seal").addEventListener("click", function () { sealTube(); el("scan").focus(); });
  MODE_NAMES.forEach(function (m) {
    el("mode-" + m).addEventListener("click", function () { chooseMode(m); });
  });
  el("walkin-form").addEventListener("submit", function (ev) { ev.preventDefault(); walkIn(); });
  el("walkin-open").addEventListener("click", function () { showWalkIn(true); });
  el("walkin-cancel").addEventListener("click", function () { showWalkIn(false); });
  setInterval(function () { if (state.mode === "retest") loadRetests(); }, RETESTS_EVERY_MS);
  el("handover-form").addEventListener("submit", function (ev) { ev.preventDefault(); handOver(); });
  el("sync").addEventListener("click", function () { flush(); });
  window.addEventListener("online", function () { online = true; flush(); });
  window.addEventListener("offline", function () { online = false; render(); });
  setInterval(flush, SYNC_EVERY_MS);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/terminal/sw.js", { scope: "/terminal/" }).catch(function () {});
  camera();
  couriers();
  loadCouriers();
  loadRetests();
  poolSizes();
  render();
  renderAttention();
  flush();
  window.sweepTerminal = { flush: flush, handle: handle, queued: queued, attention: function () { return state.attention || []; } };
})();
