"""Russian words for the console: plurals and waits spelled out."""

from __future__ import annotations


def plural(n: int, one: str, few: str, many: str) -> str:
    """1 минуту, 2 минуты, 5 минут; 11-14 take the 'many' form."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def wait_words(seconds: int) -> str:
    """A wait as a clerk reads it: '45 секунд', '2 минуты', '1 час'."""
    seconds = max(1, int(seconds))
    if seconds < 60:
        return f"{seconds} {plural(seconds, 'секунду', 'секунды', 'секунд')}"
    minutes = (seconds + 59) // 60
    if minutes < 60:
        return f"{minutes} {plural(minutes, 'минуту', 'минуты', 'минут')}"
    hours = (minutes + 59) // 60
    return f"{hours} {plural(hours, 'час', 'часа', 'часов')}"
