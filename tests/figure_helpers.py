"""Checks of a drawn matplotlib figure: its texts, where the renderer puts them."""

from __future__ import annotations

from itertools import combinations


def drawn_texts(fig) -> list:
    """The non-empty texts that drawing ``fig`` shows: the figure's own (suptitle, shared labels),
    its legends', and per visible axes its titles, axis labels, legend and the tick labels inside
    the view."""
    fig.canvas.draw()
    texts = list(fig.texts)
    for legend in fig.legends:
        texts += legend.get_texts()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts.append(ax.title)
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
        if not ax.axison:
            continue
        for axis in (ax.xaxis, ax.yaxis):
            texts.append(axis.label)
            low, high = sorted(axis.get_view_interval())
            span = (high - low) * 1e-9
            texts += [tick.label1 for tick in axis.get_major_ticks()
                      if tick.label1.get_visible() and low - span <= tick.get_loc() <= high + span]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def overlapping_texts(fig, tolerance: float = 0.5) -> list[tuple[str, str]]:
    """The pairs of drawn texts of ``fig`` whose boxes (in pixels, at the figure's DPI) overlap by
    more than ``tolerance`` pixels each way."""
    texts = drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer).padded(-tolerance)) for t in texts]
    return [(a, b) for (a, box_a), (b, box_b) in combinations(boxes, 2) if box_a.overlaps(box_b)]
