"""The service worker: it caches ONLY the shell (CSS, JS, icons, the offline page).

Navigations go to the network; when the network fails the offline page is shown. No response
to a page request is ever put in the cache, so nothing personal is kept on the device.
"""

from __future__ import annotations

SHELL_VERSION = "cabinet-shell-v1"
SHELL = (
    "/cabinet/offline",
    "/cabinet/static/cabinet.css",
    "/cabinet/static/cabinet.js",
    "/cabinet/static/icon.svg",
    "/cabinet/static/icon-192.png",
    "/cabinet/static/icon-512.png",
)

SERVICE_WORKER = f"""'use strict';
const CACHE = '{SHELL_VERSION}';
const SHELL = {list(SHELL)!r};
self.addEventListener('install', (event) => {{
  event.waitUntil(caches.open(CACHE)
    .then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
}});
self.addEventListener('activate', (event) => {{
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
    .then(() => self.clients.claim()));
}});
self.addEventListener('fetch', (event) => {{
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (request.mode === 'navigate') {{
    event.respondWith(fetch(request).catch(() => caches.match('/cabinet/offline')));
    return;
  }}
  if (SHELL.includes(url.pathname)) {{
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }}
}});
"""
