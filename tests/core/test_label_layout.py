"""Marker labels never overlap (issue 14 minor 13, new-user pass item 6): ``core.markers.place_labels``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_console.core.markers import place_labels

WIDTH = 800.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, WIDTH), st.floats(5, 200), st.floats(8, 16)), max_size=25),
       st.integers(0, 5))
def test_placed_labels_never_overlap_and_stay_inside_the_plot(marks, rows):
    anchors = [a for a, _w, _h in marks]
    sizes = [(w, h) for _a, w, h in marks]
    boxes = place_labels(anchors, sizes, left=0.0, right=WIDTH, top=4.0, rows=rows)
    assert len(boxes) == len(marks)
    placed = [b for b in boxes if b is not None]
    for i, a in enumerate(placed):
        assert 0.0 <= a.left and a.right <= WIDTH + 1e-9
        for b in placed[i + 1:]:
            assert not a.intersects(b), (a, b)
    assert len(placed) <= len(marks) and (rows > 0 or not placed)


def test_steps_a_few_pixels_apart_are_staggered_then_thinned_and_the_first_is_always_shown():
    anchors = [100.0 + 3 * i for i in range(8)]
    boxes = place_labels(anchors, [(60.0, 12.0)] * 8, left=0, right=800, top=4, rows=3)
    assert boxes[0] is not None and boxes[0].top == 4 and boxes[0].left > anchors[0]  # right of its line
    assert boxes[1] is not None and boxes[1].right < anchors[1]  # the next one left of its line, same row
    assert {b.top for b in boxes if b is not None} == {4.0, 4.0 + 15.0, 4.0 + 30.0}  # three rows
    assert sum(b is None for b in boxes) == 2  # six places: the last two are thinned (their lines stay)


def test_markers_far_apart_all_share_the_first_row():
    boxes = place_labels([10.0, 200.0, 400.0], [(80.0, 12.0)] * 3, left=0, right=800, top=4, rows=3)
    assert all(b is not None and b.top == 4 for b in boxes)


def test_a_label_at_the_right_edge_goes_left_of_its_line_instead_of_being_cut():
    (box,) = place_labels([795.0], [(80.0, 12.0)], left=0, right=800, top=4, rows=3)
    assert box.right <= 795.0 and box.left >= 0


def test_labels_go_around_the_legend():
    from ionto_console.core.markers import LabelBox

    legend = LabelBox(10, 2, 200, 20)
    boxes = place_labels([50.0, 400.0], [(80.0, 12.0)] * 2, left=0, right=800, top=4, rows=3, avoid=[legend])
    assert not boxes[0].intersects(legend) and boxes[0].top > legend.bottom
    assert boxes[1].top == 4  # clear of the legend: the first row
