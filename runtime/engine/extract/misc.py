"""Raw text, colours (CSS names, hex, rgb) and operating systems."""

from __future__ import annotations

import re

import webcolors

from .base import Context, Extraction, extractor, found, refused
from .fuzzy import edit_distance, words


@extractor("raw")
def raw(text: str, ctx: Context) -> Extraction:
    if not text or not text.strip():
        return refused("the answer is empty")
    return found(text)


CSS = {name: webcolors.name_to_rgb(name, spec=webcolors.CSS3) for name in webcolors.names(spec=webcolors.CSS3)}
HEX = re.compile(r"#?\b([0-9a-f]{6}|[0-9a-f]{3})\b", re.IGNORECASE)
RGB = re.compile(r"rgba?\s*\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})", re.IGNORECASE)
# Everyday names the CSS list lacks.
EXTRA = {"grey": "gray", "light grey": "lightgray", "dark grey": "darkgray", "burgundy": "#800020",
         "mustard": "#ffdb58", "mauve": "#e0b0ff", "navy blue": "navy", "sky blue": "skyblue", "beige": "beige",
         "rose": "#ff007f", "cream": "#fffdd0", "charcoal": "#36454f", "peach": "peachpuff", "lilac": "#c8a2c8",
         "magenta": "magenta", "emerald": "#50c878", "mint": "#98ff98", "mint green": "#98ff98", "ruby": "#e0115f",
         "scarlet": "#ff2400", "amber": "#ffbf00", "bronze": "#cd7f32", "copper": "#b87333", "baby blue": "#89cff0",
         "royal blue": "royalblue", "forest green": "forestgreen", "hot pink": "hotpink", "lime green": "limegreen"}


def _nearest_name(rgb: tuple[int, int, int]) -> str:
    return min(CSS, key=lambda n: sum((a - b) ** 2 for a, b in zip(CSS[n], rgb)))


def _colour(name: str, rgb: tuple[int, int, int]) -> dict:
    return {"name": name, "hex": "#%02x%02x%02x" % rgb, "rgb": list(rgb)}


def _named(said: list[str]) -> tuple[str, tuple[int, int, int]] | None:
    # Try two-word names first ("light blue" -> lightblue), then single words, exact then typos.
    for allowed in (0, 1, 2):
        for size in (3, 2, 1):
            for start in range(len(said) - size + 1):
                phrase = " ".join(said[start:start + size])
                joined = phrase.replace(" ", "")
                for name, target in EXTRA.items():
                    if edit_distance(name, phrase, allowed) <= allowed and len(name) >= 3 + 2 * allowed:
                        rgb = webcolors.hex_to_rgb(target) if target.startswith("#") else CSS[target]
                        return name, tuple(rgb)
                for name, rgb in CSS.items():
                    if edit_distance(name, joined, allowed) <= allowed and len(name) >= 3 + 2 * allowed:
                        return name, tuple(rgb)
    return None


@extractor("color")
def color(text: str, ctx: Context) -> Extraction:
    m = RGB.search(text)
    if m:
        rgb = tuple(int(g) for g in m.groups())
        if any(c > 255 for c in rgb):
            return refused("rgb components must be between 0 and 255")
        return found(_colour(_nearest_name(rgb), rgb))
    m = HEX.search(text)
    if m and (m.group(0).startswith("#") or re.search(r"\d", m.group(1))):
        rgb = tuple(webcolors.hex_to_rgb("#" + m.group(1)))
        return found(_colour(_nearest_name(rgb), rgb))
    named = _named(words(text))
    if named:
        return found(_colour(named[0], named[1]))
    return refused("no colour name, hex code or rgb() value in the answer")


OPERATING_SYSTEMS = [
    ("Windows", r"windows|win(?=\s?\d)|win(?:xp|7|8|10|11)\b|wndows|windos|widows", r"(?:windows|win)\s?(xp|vista|\d+(?:\.\d+)?)"),
    ("macOS", r"mac\s?os(?:\s?x)?|osx|os x|macbook|imac|mac mini|macintosh|\bmac\b|macos|sonoma|ventura|monterey|"
              r"big sur|catalina|mojave|sequoia", r"(?:mac\s?os(?:\s?x)?|osx|os x)\s?(\d+(?:\.\d+)*)"),
    ("iOS", r"\bios\b|iphone|ipad(?:os)?|\bipod\b", r"(?:ios|ipados)\s?(\d+(?:\.\d+)*)"),
    ("Android", r"android|andriod|samsung|galaxy|pixel|oneplus|xiaomi|huawei|motorola", r"android\s?(\d+(?:\.\d+)*)"),
    ("ChromeOS", r"chrome\s?os|chromebook", r"chrome\s?os\s?(\d+)"),
    ("Linux", r"linux|ubuntu|debian|fedora|arch|mint|centos|red\s?hat|rhel|manjaro|opensuse|suse|kali|pop!?_os|gentoo",
              r"(?:ubuntu|debian|fedora|linux)\s?(\d+(?:\.\d+)*)"),
]


@extractor("operating_system")
def operating_system(text: str, ctx: Context) -> Extraction:
    lowered = text.lower()
    hits = []
    for name, pattern, version in OPERATING_SYSTEMS:
        m = re.search(pattern, lowered)
        if m:
            v = re.search(version, lowered)
            hits.append((m.start(), name, v.group(1) if v else None))
    if not hits:
        return refused("no operating system (Windows, macOS, Linux, iOS, Android, ChromeOS) in the answer")
    names = {h[1] for h in hits}
    if len(names) > 1 and not ({"iOS", "macOS"} >= names and "ipad" in lowered):
        return refused("the answer names several operating systems: " + ", ".join(sorted(names)))
    _, name, version = min(hits)
    return found({"name": name, "version": version})
