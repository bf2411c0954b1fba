'use strict';
// Registered from a file, not inline, so that the CSP needs no 'unsafe-inline'.
if ('serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/cabinet/sw.js', { scope: '/cabinet/' }).catch(() => {});
  });
}
