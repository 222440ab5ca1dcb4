#!/usr/bin/env python3
"""Renders one `tmux capture-pane -p -e` capture (text with SGR colours) to
a PNG, cell by cell, the way a dark terminal would show it.

    render.py CAPTURE COLS ROWS OUT.png

pyte parses the text into a cell grid; its own SGR handling knows neither
dim nor the bright colours 90-97 (it turns them into bold), so this screen
does SGR itself.  Box-drawing lines and the lower blocks the console uses
are drawn as shapes, so tree lines and sparklines join without gaps
whatever the font's metrics.
"""
import sys
from collections import namedtuple

import pyte
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONT_SIZE = 15
PAD = 12
BACKGROUND = (0x1B, 0x1D, 0x23)
FOREGROUND = (0xD8, 0xDA, 0xDE)
# The 16 ANSI colours (normal, then bright), a muted dark-terminal palette.
PALETTE = [
    (0x1B, 0x1D, 0x23), (0xE0, 0x6C, 0x75), (0x98, 0xC3, 0x79), (0xE5, 0xC0, 0x7B),
    (0x61, 0xAF, 0xEF), (0xC6, 0x78, 0xDD), (0x56, 0xB6, 0xC2), (0xAB, 0xB2, 0xBF),
    (0x6B, 0x72, 0x80), (0xF0, 0x7F, 0x88), (0xB5, 0xE0, 0x8F), (0xF5, 0xD0, 0x8B),
    (0x7C, 0xC4, 0xFF), (0xD8, 0x8F, 0xEE), (0x6F, 0xD0, 0xDC), (0xF2, 0xF3, 0xF5),
]

Cell = namedtuple(
    "Cell",
    "data fg bg bold italics underscore strikethrough reverse dim",
)
BLANK = Cell(" ", None, None, False, False, False, False, False, False)


def xterm256(n):
    """An xterm 256-colour index as RGB."""
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    level = 8 + 10 * (n - 232)
    return (level, level, level)


class Screen(pyte.Screen):
    """A pyte screen whose cells also carry dim, with SGR done here."""

    @property
    def default_char(self):
        return BLANK

    def reset(self):
        super().reset()
        self.cursor.attrs = BLANK

    def select_graphic_rendition(self, *params, **_private):
        attrs = self.cursor.attrs._asdict()
        params = list(params) or [0]
        flags = {1: "bold", 2: "dim", 3: "italics", 4: "underscore", 7: "reverse", 9: "strikethrough"}
        while params:
            p = params.pop(0)
            if p == 0:
                attrs = BLANK._asdict()
            elif p in flags:
                attrs[flags[p]] = True
            elif p == 22:
                attrs["bold"] = attrs["dim"] = False
            elif p in (23, 24, 27, 29):
                attrs[flags[p - 20]] = False
            elif 30 <= p <= 37 or 90 <= p <= 97:
                attrs["fg"] = p - 30 if p < 90 else p - 90 + 8
            elif 40 <= p <= 47 or 100 <= p <= 107:
                attrs["bg"] = p - 40 if p < 100 else p - 100 + 8
            elif p in (39, 49):
                attrs["fg" if p == 39 else "bg"] = None
            elif p in (38, 48) and params:
                key = "fg" if p == 38 else "bg"
                kind = params.pop(0)
                if kind == 5 and params:
                    attrs[key] = params.pop(0)
                elif kind == 2 and len(params) >= 3:
                    attrs[key] = tuple(params[:3])
                    del params[:3]
        self.cursor.attrs = Cell(**attrs)


def parse(text, cols, rows):
    screen = Screen(cols, rows)
    stream = pyte.Stream(screen)
    # Each captured line goes to its own row: no wrapping, no scrolling.
    for y, line in enumerate(text.split("\n")[:rows]):
        screen.cursor_position(y + 1, 1)
        stream.feed(line)
    return screen


def rgb(colour, default):
    if colour is None:
        return default
    if isinstance(colour, tuple):
        return colour
    return xterm256(colour)


def mix(a, b, t):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))


# Light box-drawing lines: which arms (left, right, up, down) each has.
BOX = {
    "─": "lr", "│": "ud", "┌": "rd", "┐": "ld", "└": "ru", "┘": "lu",
    "├": "udr", "┤": "udl", "┬": "lrd", "┴": "lru", "┼": "lrud",
}


def draw_shape(draw, ch, x, y, w, h, fg):
    """Draws box lines and lower blocks; False for anything else."""
    if ch in BOX:
        cx, cy = x + w // 2, y + h // 2
        arms = BOX[ch]
        if "l" in arms:
            draw.rectangle([x, cy, cx, cy], fill=fg)
        if "r" in arms:
            draw.rectangle([cx, cy, x + w - 1, cy], fill=fg)
        if "u" in arms:
            draw.rectangle([cx, y, cx, cy], fill=fg)
        if "d" in arms:
            draw.rectangle([cx, cy, cx, y + h - 1], fill=fg)
        return True
    if "\u2581" <= ch <= "\u2588":
        eighths = ord(ch) - 0x2580
        top = y + h - round(h * eighths / 8)
        draw.rectangle([x, top, x + w - 1, y + h - 1], fill=fg)
        return True
    return False


def render(screen, out):
    regular = ImageFont.truetype(f"{FONT_DIR}/DejaVuSansMono.ttf", FONT_SIZE)
    bold = ImageFont.truetype(f"{FONT_DIR}/DejaVuSansMono-Bold.ttf", FONT_SIZE)
    ascent, descent = regular.getmetrics()
    # Rounding the advance down lets glyphs touch rather than leave gaps.
    w, h = int(regular.getlength("M")), ascent + descent + 1
    img = Image.new("RGB", (screen.columns * w + 2 * PAD, screen.lines * h + 2 * PAD), BACKGROUND)
    draw = ImageDraw.Draw(img)
    for row in range(screen.lines):
        line = screen.buffer[row]
        for col in range(screen.columns):
            c = line[col]
            fg, bg = rgb(c.fg, FOREGROUND), rgb(c.bg, BACKGROUND)
            if c.reverse:
                fg, bg = bg, fg
            if getattr(c, "dim", False):
                fg = mix(fg, bg, 0.45)
            x, y = PAD + col * w, PAD + row * h
            if bg != BACKGROUND:
                draw.rectangle([x, y, x + w - 1, y + h - 1], fill=bg)
            if c.data.strip() and not draw_shape(draw, c.data, x, y, w, h, fg):
                font = bold if c.bold else regular
                draw.text((x, y), c.data, font=font, fill=fg)
            if c.underscore:
                draw.line([x, y + ascent + 1, x + w - 1, y + ascent + 1], fill=fg)
    img.save(out, optimize=True)


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: render.py CAPTURE COLS ROWS OUT.png")
    capture, cols, rows, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    with open(capture, encoding="utf-8", errors="replace") as f:
        text = f.read()
    render(parse(text, cols, rows), out)


if __name__ == "__main__":
    main()
