"""The subscriber's self-service cabinet: pages under /cabinet, the PWA shell, the offline page."""
