"""The Thresholds page's live decision as a URL parameter (dashboard/live.py)."""

import pytest

from dashboard import live


@pytest.mark.parametrize("setting", [
    live.Live("model", "sbert_plus_nfnet", t=(0.53,), t2=(0.62,), min2=True, iters=1),
    live.Live("model", "tfidf_plus_resnet50", t=(0.4,), t2=(None,), min2=False, weights=(0.7, 0.3), exact=True,
              iters=2, blend=(0.35, 0.4)),
    live.Live("fusion", members=("tfidf", "resnet50", "e5_zeroshot"), t=(0.25,), t2=(0.3,), weights=(0.33, 0.5, 1.0),
              calibrate=True, iters=3),
    live.Live("union", members=("tfidf", "phash"), t=(0.58, 0.13), t2=(0.69, None), min2=True),
])
def test_every_mode_round_trips_through_the_url(setting):
    text = setting.encode()
    assert live.decode(text) == setting
    assert " " not in text and "&" not in text and "#" not in text


@pytest.mark.parametrize("junk", ["", "???", "model:", "sideways:x", "fusion:tfidf", "union:a+a", "model:x;t=1.5",
                                  "model:x;t=abc", "model:x;inb=9", "model:x;bt=0.1", "x" * 3000, None])
def test_a_malformed_link_is_ignored(junk):
    assert live.decode(junk) is None


def test_widget_values_use_the_page_keys():
    v = live.widget_values(live.decode("model:m;t=0.532;t2=-;min2=0;inb=1;w=0.8,0.2;exact=1"), "table", ("a", "b"))
    assert v["th-m-m-iters"] == 1 and v["th-m-m-reweight"] and v["th-m-m-w-a"] == 0.8
    assert v["th-m-m-inb1-t"] == pytest.approx(0.53) and v["th-m-m-inb1-min2"] is False  # snapped to the 0.005 grid
    assert v["th-m-m-exact-restore"] and "th-m-m-inb1-t2" not in v
    u = live.widget_values(live.decode("union:a+b;t=0.5,0.1;t2=0.6,-"))
    assert u["th-u-members"] == ["a", "b"] and u["th-u-a+b-t-1"] == 0.1 and u["th-u-a+b-t2-0"] == 0.6
