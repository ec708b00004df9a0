import csv
import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from shopee_core.data.kaggle import (
    REQUIRED_COLUMNS,
    Catalog,
    find_bad_images,
    load_catalog,
    read_postings_csv,
)
from shopee_core.errors import DataError

HEADER = list(REQUIRED_COLUMNS)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 60, 30)).save(buf, "JPEG")
    return buf.getvalue()


JPEG = _jpeg()


def _rows(n=10, group_size=2):
    return [
        [f"train_{i}", f"img_{i}.jpg", f"{i:016x}", f"Produk nomor {i}", str(1000 + i // group_size)]
        for i in range(n)
    ]


def _csv_text(rows, header=HEADER, newline="\n"):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_catalog(root, rows=None, kind="train", header=None, images=True, raw=None):
    """Write a Kaggle-layout catalog; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    if header is None:
        header = HEADER if kind == "train" else HEADER[:-1]
    if rows is None:
        rows = _rows()
        if kind == "test":
            rows = [r[:-1] for r in rows]
    data = raw if raw is not None else _csv_text(rows, header).encode("utf-8")
    (root / f"{kind}.csv").write_bytes(data)
    if images:
        img_dir = root / f"{kind}_images"
        img_dir.mkdir(exist_ok=True)
        col = header.index("image") if "image" in header else 1
        for r in rows:
            (img_dir / r[col]).write_bytes(JPEG)
    return root


def write_csv(tmp_path, text: str | bytes, name="train.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


# ------------------------------------------------------------------ good data
def test_load_train_catalog(tmp_path):
    root = write_catalog(tmp_path / "cat")
    cat = load_catalog(root)
    assert isinstance(cat, Catalog)
    assert cat.kind == "train" and cat.has_labels and len(cat) == 10
    assert cat.root == root and cat.image_dir == root / "train_images"
    assert list(cat.frame.columns) == HEADER
    assert cat.frame["label_group"].dtype == np.int64
    assert cat.frame["label_group"].tolist()[:4] == [1000, 1000, 1001, 1001]
    assert cat.image_path(3) == root / "train_images" / "img_3.jpg"
    assert cat.warnings == []


def test_ids_and_phashes_stay_strings(tmp_path):
    rows = [
        ["00123", "0001.jpg", "1e10", "a", "1"],
        ["00124", "0002.jpg", "0000000000000000", "b", "1"],
        ["NaN", "0003.jpg", "nan", "NA", "2"],
        ["007", "0004.jpg", "ff00ff00ff00ff00", "d", "2"],
    ]
    frame, warnings = read_postings_csv(write_csv(tmp_path, _csv_text(rows)))
    assert frame["posting_id"].tolist() == ["00123", "00124", "NaN", "007"]
    assert frame["image_phash"].tolist() == ["1e10", "0000000000000000", "nan", "ff00ff00ff00ff00"]
    assert frame["title"].tolist() == ["a", "b", "NA", "d"]
    assert warnings == []


def test_auto_picks_test_csv_prediction_only(tmp_path):
    root = write_catalog(tmp_path / "t", kind="test")
    cat = load_catalog(root)
    assert cat.kind == "test" and not cat.has_labels
    assert "label_group" not in cat.frame.columns
    assert cat.image_dir == root / "test_images"


def test_explicit_kind_and_csv_path(tmp_path):
    root = write_catalog(tmp_path / "c")
    write_catalog(root, kind="test")
    assert load_catalog(root).kind == "train"
    assert load_catalog(root, kind="test").kind == "test"
    assert load_catalog(root / "test.csv").kind == "test"
    with pytest.raises(DataError, match="unknown catalog kind"):
        load_catalog(root, kind="valid")


def test_test_kind_drops_label_group(tmp_path):
    root = write_catalog(tmp_path / "t", kind="test", header=HEADER, rows=_rows())
    cat = load_catalog(root)
    assert not cat.has_labels
    assert any("label_group column ignored" in w for w in cat.warnings)


def test_no_csv_at_all(tmp_path):
    with pytest.raises(DataError, match="no train.csv or test.csv"):
        load_catalog(tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        load_catalog(tmp_path / "absent")
    with pytest.raises(DataError, match="no test.csv"):
        load_catalog(write_catalog(tmp_path / "x"), kind="test")


# ------------------------------------------------------------------- fatal
def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_postings_csv(tmp_path / "train.csv")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, content):
    with pytest.raises(DataError, match="empty file"):
        read_postings_csv(write_csv(tmp_path, content))


def test_header_only(tmp_path):
    with pytest.raises(DataError, match="header only, no rows"):
        read_postings_csv(write_csv(tmp_path, ",".join(HEADER) + "\n"))


def test_invalid_utf8_names_offset_and_line(tmp_path):
    text = _csv_text(_rows(3)).encode("utf-8")
    pos = text.index(b"Produk nomor 1")
    bad = text[:pos] + b"\xff" + text[pos:]
    with pytest.raises(DataError, match="not valid UTF-8") as err:
        read_postings_csv(write_csv(tmp_path, bad))
    msg = str(err.value)
    assert f"byte offset {pos}" in msg and "line 3" in msg and "0xff" in msg


def test_latin1_file(tmp_path):
    text = _csv_text([["a", "a.jpg", "ff", "Kaos caf\xe9", "1"]]).encode("latin-1")
    with pytest.raises(DataError, match="not valid UTF-8.*line 2"):
        read_postings_csv(write_csv(tmp_path, text))


def test_utf16_file(tmp_path):
    text = _csv_text(_rows(2)).encode("utf-16")
    with pytest.raises(DataError, match="UTF-16"):
        read_postings_csv(write_csv(tmp_path, text))


def test_missing_columns_are_named(tmp_path):
    header = ["posting_id", "image", "title"]
    rows = [["a", "a.jpg", "t"]]
    with pytest.raises(DataError, match="missing required columns image_phash, label_group"):
        read_postings_csv(write_csv(tmp_path, _csv_text(rows, header)), require_labels=True)
    # label_group is optional unless required
    with pytest.raises(DataError, match="missing required column image_phash "):
        read_postings_csv(write_csv(tmp_path, _csv_text(rows, header)))


@pytest.mark.parametrize("renamed", ["Title", " title", "TITLE ", "Title-"])
def test_renamed_column_suggested(tmp_path, renamed):
    header = [renamed if c == "title" else c for c in HEADER]
    with pytest.raises(DataError, match="missing required column title") as err:
        read_postings_csv(write_csv(tmp_path, _csv_text(_rows(2), header)))
    assert f'"{renamed}" looks like title' in str(err.value)


def test_renamed_label_column_suggested(tmp_path):
    header = HEADER[:-1] + ["Label Group"]
    with pytest.raises(DataError, match='"Label Group" looks like label_group'):
        read_postings_csv(write_csv(tmp_path, _csv_text(_rows(2), header)), require_labels=True)


def test_duplicate_column_names(tmp_path):
    header = HEADER + ["title"]
    rows = [r + ["again"] for r in _rows(2)]
    with pytest.raises(DataError, match="duplicate column names: title"):
        read_postings_csv(write_csv(tmp_path, _csv_text(rows, header)))


def test_duplicate_posting_ids(tmp_path):
    rows = _rows(6)
    rows[3][0] = "train_0"
    rows[5][0] = "train_0"
    rows[4][0] = "train_1"
    with pytest.raises(DataError, match="2 posting_ids occur more than once") as err:
        read_postings_csv(write_csv(tmp_path, _csv_text(rows)))
    assert "train_0 (3x)" in str(err.value) and "train_1 (2x)" in str(err.value)


@pytest.mark.parametrize("value", ["abc", "", "1.5", "12e3", "0x10"])
def test_label_group_not_integer(tmp_path, value):
    rows = _rows(4)
    rows[2][4] = value
    with pytest.raises(DataError, match="label_group must be an integer") as err:
        read_postings_csv(write_csv(tmp_path, _csv_text(rows)))
    assert repr(value) in str(err.value) and "train_2" in str(err.value)


def test_label_group_overflow(tmp_path):
    rows = _rows(2)
    rows[0][4] = "9" * 30
    with pytest.raises(DataError, match="64-bit"):
        read_postings_csv(write_csv(tmp_path, _csv_text(rows)))


def test_label_group_written_as_float_is_tolerated(tmp_path):
    rows = _rows(4)
    rows[0][4] = "1000.0"
    frame, warnings = read_postings_csv(write_csv(tmp_path, _csv_text(rows)))
    assert frame["label_group"].tolist() == [1000, 1000, 1001, 1001]
    assert any("written as floats" in w for w in warnings)


@pytest.mark.parametrize(
    "text",
    [
        ",".join(HEADER) + "\na,a.jpg,ff,t,1\nb,b.jpg,ff,t,1,extra,fields\n",
        ",".join(HEADER) + '\na,a.jpg,ff,"unclosed quote,1\n',
    ],
)
def test_unparseable_csv(tmp_path, text):
    with pytest.raises(DataError, match="cannot parse as CSV") as err:
        read_postings_csv(write_csv(tmp_path, text))
    assert "\n" not in str(err.value)


def test_empty_posting_id(tmp_path):
    rows = _rows(4)
    rows[2][0] = "  "
    with pytest.raises(DataError, match="1 row with an empty posting_id .data rows 3"):
        read_postings_csv(write_csv(tmp_path, _csv_text(rows)))


@pytest.mark.parametrize("name", ["", "../secret.jpg", "sub/dir.jpg", "..", "C:evil.jpg", "a\\b.jpg"])
def test_bad_image_names(tmp_path, name):
    rows = _rows(3)
    rows[1][1] = name
    with pytest.raises(DataError, match="image"):
        read_postings_csv(write_csv(tmp_path, _csv_text(rows)))


def test_label_group_required_for_train(tmp_path):
    root = write_catalog(tmp_path / "c", header=HEADER[:-1], rows=[r[:-1] for r in _rows()])
    with pytest.raises(DataError, match="missing required column label_group"):
        load_catalog(root)


def test_missing_images_listed(tmp_path):
    root = write_catalog(tmp_path / "c", rows=_rows(12))
    for i in (1, 2, 3, 4, 5, 6, 9):
        (root / "train_images" / f"img_{i}.jpg").unlink()
    with pytest.raises(DataError, match="7 of 12 image files are missing") as err:
        load_catalog(root)
    msg = str(err.value)
    assert "img_1.jpg, img_2.jpg, img_3.jpg, img_4.jpg, img_5.jpg, ..." in msg
    assert "img_9.jpg" not in msg
    cat = load_catalog(root, check_images=False)
    assert len(cat) == 12


def test_missing_image_folder(tmp_path):
    root = write_catalog(tmp_path / "c", images=False)
    with pytest.raises(DataError, match="no train_images/ folder"):
        load_catalog(root)
    assert len(load_catalog(root, check_images=False)) == 10


# ---------------------------------------------------------------- tolerated
def test_bom_stripped(tmp_path):
    raw = b"\xef\xbb\xbf" + _csv_text(_rows(4)).encode("utf-8")
    root = write_catalog(tmp_path / "c", rows=_rows(4), raw=raw)
    cat = load_catalog(root)
    assert list(cat.frame.columns) == HEADER
    assert cat.frame["posting_id"].iloc[0] == "train_0"
    assert any("BOM" in w for w in cat.warnings)


def test_crlf_line_endings(tmp_path):
    rows = _rows(4)
    raw = _csv_text(rows, newline="\r\n").encode("utf-8")
    assert b"\r\n" in raw
    cat = load_catalog(write_catalog(tmp_path / "c", rows=rows, raw=raw))
    assert cat.frame["title"].tolist() == [r[3] for r in rows]
    assert cat.frame["label_group"].tolist() == [1000, 1000, 1001, 1001]
    assert cat.warnings == []


def test_bom_and_crlf_together(tmp_path):
    raw = b"\xef\xbb\xbf" + _csv_text(_rows(4), newline="\r\n").encode("utf-8")
    frame, warnings = read_postings_csv(write_csv(tmp_path, raw))
    assert len(frame) == 4 and len(warnings) == 1


def test_extra_columns_kept_with_warning(tmp_path):
    header = ["Unnamed: 0"] + HEADER + ["price"]
    rows = [[str(i)] + r + ["9.99"] for i, r in enumerate(_rows(4))]
    frame, warnings = read_postings_csv(write_csv(tmp_path, _csv_text(rows, header)))
    assert list(frame.columns) == HEADER + ["Unnamed: 0", "price"]
    assert frame["price"].tolist() == ["9.99"] * 4
    assert any("2 extra columns kept: 'Unnamed: 0', 'price'" in w for w in warnings)


def test_empty_titles(tmp_path):
    rows = _rows(6)
    rows[1][3] = ""
    rows[2][3] = "   "
    rows[4][3] = ""
    frame, warnings = read_postings_csv(write_csv(tmp_path, _csv_text(rows)))
    assert frame["title"].tolist()[1:5] == ["", "", "Produk nomor 3", ""]
    assert "3 empty titles: train_1, train_2, train_4" in warnings


def test_missing_trailing_fields_become_empty(tmp_path):
    text = ",".join(HEADER[:-1]) + "\na,a.jpg,ff\nb,b.jpg,ff,title b\n"
    frame, warnings = read_postings_csv(write_csv(tmp_path, text))
    assert frame["title"].tolist() == ["", "title b"]
    assert any("1 empty title" in w for w in warnings)


def test_control_characters_replaced(tmp_path):
    rows = _rows(4)
    rows[0][3] = "Kaos\x07Polos\x00Putih"
    rows[2][3] = "multi\r\nline title\ttab"
    raw = _csv_text(rows).encode("utf-8")
    frame, warnings = read_postings_csv(write_csv(tmp_path, raw))
    assert frame["title"].iloc[0] == "Kaos Polos Putih"
    assert frame["title"].iloc[2] == "multi  line title tab"
    assert any(w.startswith("2 titles with control characters") and "train_0, train_2" in w for w in warnings)


def test_literal_escapes_counted_and_kept(tmp_path):
    rows = _rows(5)
    rows[0][3] = "Kaos \\xe2\\x9c\\xa8 Premium"
    rows[1][3] = "Baris\\nbaru"
    rows[3][3] = "caf\\u00e9"
    frame, warnings = read_postings_csv(write_csv(tmp_path, _csv_text(rows)))
    assert frame["title"].iloc[0] == "Kaos \\xe2\\x9c\\xa8 Premium"  # raw title kept
    assert any(w.startswith("3 titles with literal escape sequences") for w in warnings)


def test_long_titles_truncated(tmp_path):
    rows = _rows(3)
    rows[1][3] = "x" * 1500
    rows[2][3] = "y" * 1000
    frame, warnings = read_postings_csv(write_csv(tmp_path, _csv_text(rows)))
    assert len(frame["title"].iloc[1]) == 1000 and len(frame["title"].iloc[2]) == 1000
    assert "1 title longer than 1,000 characters truncated: train_1" in warnings


def test_spaces_around_ids_trimmed(tmp_path):
    rows = _rows(2)
    rows[0][0] = " train_0 "
    rows[1][4] = " 1000"
    frame, warnings = read_postings_csv(write_csv(tmp_path, _csv_text(rows)))
    assert frame["posting_id"].tolist() == ["train_0", "train_1"]
    assert frame["label_group"].tolist() == [1000, 1000]
    assert any("2 values with surrounding spaces" in w for w in warnings)


def test_empty_phash_and_single_groups_warn(tmp_path):
    rows = _rows(5)
    rows[0][2] = ""
    frame, warnings = read_postings_csv(write_csv(tmp_path, _csv_text(rows)))
    assert "1 empty image_phash: train_0" in warnings
    assert any(w.startswith("1 label group with a single posting") and "1002" in w for w in warnings)


def test_require_labels_false_drops_column(tmp_path):
    frame, warnings = read_postings_csv(write_csv(tmp_path, _csv_text(_rows(2))), require_labels=False)
    assert "label_group" not in frame.columns
    frame, _ = read_postings_csv(write_csv(tmp_path, _csv_text(_rows(2))))
    assert frame["label_group"].dtype == np.int64


def test_catalog_warnings_collected(tmp_path):
    rows = _rows(4)
    rows[0][3] = ""
    cat = load_catalog(write_catalog(tmp_path / "c", rows=rows))
    assert cat.warnings == ["1 empty title: train_0"]


# ------------------------------------------------------------ find_bad_images
def test_find_bad_images(tmp_path):
    rows = _rows(8)
    rows[7][1] = "img_0.jpg"  # shared image: reported once
    root = write_catalog(tmp_path / "c", rows=rows)
    d = root / "train_images"
    (d / "img_1.jpg").unlink()
    (d / "img_5.jpg").unlink()
    (d / "img_2.jpg").write_bytes(b"")
    (d / "img_3.jpg").write_text("not an image")
    (d / "img_4.jpg").write_bytes(JPEG[: len(JPEG) // 2])
    cat = load_catalog(root, check_images=False)

    quick = find_bad_images(cat)
    assert quick == {"missing": ["img_1.jpg", "img_5.jpg"], "unreadable": []}

    full = find_bad_images(cat, verify=True, progress=True)
    assert full["missing"] == ["img_1.jpg", "img_5.jpg"]
    assert full["unreadable"] == ["img_2.jpg", "img_3.jpg", "img_4.jpg"]


def test_find_bad_images_without_folder(tmp_path):
    cat = load_catalog(write_catalog(tmp_path / "c", images=False), check_images=False)
    out = find_bad_images(cat, verify=True)
    assert len(out["missing"]) == 10 and out["unreadable"] == []


def test_many_rows_load_fast(tmp_path):
    import time

    n = 40_000
    frame = pd.DataFrame(
        {
            "posting_id": [f"train_{i}" for i in range(n)],
            "image": [f"{i:032x}.jpg" for i in range(n)],
            "image_phash": [f"{i:016x}" for i in range(n)],
            "title": [f"Produk \\xe2\\x9c\\xa8 nomor {i}" for i in range(n)],
            "label_group": [i // 3 for i in range(n)],
        }
    )
    root = tmp_path / "big"
    (root / "train_images").mkdir(parents=True)
    frame.to_csv(root / "train.csv", index=False)
    for name in frame["image"]:
        (root / "train_images" / name).touch()
    t0 = time.perf_counter()
    cat = load_catalog(root)
    assert time.perf_counter() - t0 < 10
    assert len(cat) == n


def test_ten_megabyte_title_is_cut_not_fatal(tmp_path):
    rows = _rows(3)
    rows[0][3] = "kaos " * (2 * 1024 * 1024)  # a 10 MB single title
    frame, warnings = read_postings_csv(write_csv(tmp_path, _csv_text(rows)))
    assert len(frame["title"].iloc[0]) == 1000
    assert any("truncated" in w for w in warnings)
