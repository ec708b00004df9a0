"""The Data overview's tables on crafted postings, where every count is known."""

import pandas as pd
import pytest

from shopee_core.analysis import data_overview as D


@pytest.fixture
def frame():
    return pd.DataFrame({
        "row": range(8),
        "posting_id": [f"p{i}" for i in range(8)],
        "title": ["Kaos Polos", "kaos  polos", "Serum Wajah 100ml", "serum wajah 100ml", "Serum wajah 100ml",
                  "Tas Kulit", "tas kulit", "Botol"],
        "label_group": [1, 1, 2, 3, 3, 4, 4, 4],
        "split": ["test"] * 8,
        "image_phash": ["a", "a", "b", "b", "c", "d", "e", "d"],
        "image": ["x.jpg", "x.jpg", "y.jpg", "z.jpg", "z.jpg", "w.jpg", "v.jpg", "u.jpg"],
    })


def test_repeated_titles_split_into_same_group_and_across_groups(frame):
    t = D.repeated_titles(frame)
    assert t.to_dict("records") == [
        {"title": "serum wajah 100ml", "postings": 3, "groups": 2, "kind": D.ACROSS},
        {"title": "kaos polos", "postings": 2, "groups": 1, "kind": D.SAME},
        {"title": "tas kulit", "postings": 2, "groups": 1, "kind": D.SAME}]
    h = D.repeat_histogram(t)
    assert h.to_dict("records") == [{"postings": 2, "kind": D.SAME, "values": 2},
                                    {"postings": 3, "kind": D.ACROSS, "values": 1}]
    keyed = frame.assign(title_key=D._norm_titles(frame["title"]))
    assert list(D.rows_with(keyed, "title_key", "serum wajah 100ml")["row"]) == [2, 3, 4]
    assert D.repeated_titles(keyed).equals(t)


def test_shared_phashes_and_files(frame):
    s = D.shared_images(frame)
    ph = s["image_phash"].set_index("image_phash")
    assert ph.loc["a", "kind"] == D.SAME and ph.loc["b", "kind"] == D.ACROSS and ph.loc["d", "kind"] == D.SAME
    assert "c" not in ph.index  # held by one posting only
    files = s["image"].set_index("image")
    assert set(files.index) == {"x.jpg", "z.jpg"} and (files["kind"] == D.SAME).all()
    summ = D.sharing_summary(s["image_phash"], len(frame)).set_index("kind")
    assert summ.loc[D.SAME, "postings"] == 4 and summ.loc[D.ACROSS, "postings"] == 2
    assert summ.loc[D.ACROSS, "share"] == pytest.approx(2 / 8)


def test_groups_lengths_and_tokens(frame):
    assert D.largest_groups(frame, 2).to_dict("records") == [{"label_group": 4, "size": 3},
                                                            {"label_group": 1, "size": 2}]  # ties: by label
    lengths = D.title_lengths(frame)
    assert list(lengths["words"]) == [2, 2, 3, 3, 3, 2, 2, 1] and lengths["characters"].iloc[1] == len("kaos  polos")
    counts = D.length_counts(lengths)
    words = counts[counts["unit"] == "words"]
    assert dict(zip(words["length"], words["postings"])) == {1: 1, 2: 4, 3: 3}
    tokens = D.token_counts(frame, top=3)
    assert tokens.to_dict("records") == [{"token": t, "postings": 3, "count": 3} for t in ("100ml", "serum", "wajah")]
    assert D.token_counts(frame.assign(title=["the kaos kaos"] * 8), top=5).to_dict("records") == [
        {"token": "kaos", "postings": 8, "count": 16}]  # stop words out; postings counts titles, count every use
    png = D.word_cloud_png(D.token_counts(frame))
    assert png is None or png[:8] == b"\x89PNG\r\n\x1a\n"


def test_group_size_counts_per_pool(tmp_path_factory):
    from shopee_core.bundle import Bundle
    from tests.analysis.bundles import tiny_bundle

    b = Bundle.open(tiny_bundle(tmp_path_factory))
    sizes = D.group_size_counts(b, b.splits)
    for pool in b.splits:
        s = sizes[sizes["pool"] == pool]
        assert s["postings"].sum() == len(b.split_rows(pool))
        assert s["groups"].sum() == pd.Series(b.labels(pool)).nunique()
