/* The terminal's service worker: the page and its assets come from the cache when the network is
 * gone, so a reload at a site without signal still shows the terminal and its queue. The API is
 * never cached: the page's own queue deals with being offline. */
"use strict";

var CACHE = "sweep-terminal-v4";  // v4: sampling modes and the walk-in form; a refused batch stays queued, refused items go to "needs attention"
var ASSETS = ["/static/terminal/terminal.js", "/static/terminal/terminal.css"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(ASSETS); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (keys) { return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); })); })
      .then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (request.mode === "navigate") {
    // The page: the network first (a fresh session and CSRF token), the last good copy offline.
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok && !response.redirected) {
          var copy = response.clone();
          caches.open(CACHE).then(function (c) { c.put(request, copy); });
        }
        return response;
      }).catch(function () {
        return caches.match(request, { ignoreSearch: true }).then(function (hit) {
          return hit || caches.match("/terminal/", { ignoreSearch: true }) || Response.error();
        });
      })
    );
    return;
  }
  if (ASSETS.indexOf(url.pathname) >= 0) {
    // Assets: the cache at once, refreshed behind the scenes.
    event.respondWith(
      caches.open(CACHE).then(function (c) {
        return c.match(request).then(function (hit) {
          var fresh = fetch(request).then(function (response) {
            if (response.ok) c.put(request, response.clone());
            return response;
          }).catch(function () { return hit || Response.error(); });
          return hit || fresh;
        });
      })
    );
  }
});
