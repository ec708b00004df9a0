"""Quantities in titles: the spellings sellers use, what is not a quantity, and the canonical tokens."""

import pytest

from shopee_core.data.units import normalise_units, parse_quantities, quantity_conflict


@pytest.mark.parametrize("title,want", [
    ("Powerbank 10K mAh fast charging", {"charge": {10000}}),
    ("powerbank 10k mah", {"charge": {10000}}),
    ("Powerbank 10.000mAh", {"charge": {10000}}),
    ("Kopi sachet paket 3", {"packs": {3}}),
    ("madu pack of 6", {"packs": {6}}),
    ("Kopi paket 3 sachet", {"packs": {3}}),
    ("Oli mesin SAE 10W-30", {}),                      # a viscosity grade, not 10 watts
    ("Oli 5W-40 1 liter", {"volume": {1000}}),
    ("Charger 20W", {"power": {20}}),
    ("Kaos promo 10rb", {}),                           # ribu = thousand: a price, not the product's quantity
    ("kaos harga 10rb/pcs", {}),
    ("gelang 10 ribu dapat 3", {}),
    ("tisu isi 10rb", {}),
    ("Kaos kaki 1/2 lusin", {"pieces": {6}}),
    ("Aqua 0,9L", {"volume": {900}}),
])
def test_more_spellings(title, want):
    assert {k: set(v) for k, v in parse_quantities(title).items()} == want


@pytest.mark.parametrize("a,b,conflict", [
    ("powerbank 10K mAh", "powerbank 10000mAh", []),
    ("powerbank 10K mAh", "powerbank 20.000 mAh", ["charge"]),
    ("oli 10W-30", "oli 5W-30", []),
    ("kopi paket 3", "kopi paket 5", ["packs"]),
    ("kaos 10rb", "kaos 15rb", []),
])
def test_more_conflicts(a, b, conflict):
    assert quantity_conflict(a, b) == conflict


@pytest.mark.parametrize("spellings", [
    ["Serum 100ml", "SERUM 100 ML", "serum 100 mL", "serum 0,1 L"],
    ["Aqua 0,9L", "aqua 0.9 l", "AQUA 900ml", "aqua 900 ML"],
    ["Beras 1kg", "beras 1000 gr", "BERAS 1 KG", "beras 1.000 gram"],
    ["Powerbank 10K mAh", "powerbank 10000mAh", "POWERBANK 10.000 mAh"],
    ["Masker 2 pcs", "masker 2pc", "masker isi 2", "MASKER 2PCS"],
    ["Kopi paket 3", "kopi 3 pack", "kopi 3 sachet"],
])
def test_one_quantity_one_token(spellings):
    texts = {normalise_units(t) for t in spellings}
    assert len(texts) == 1, texts


def test_normalised_tokens_keep_quantities_apart_and_other_words_alone():
    assert normalise_units("Serum 100ml") != normalise_units("Serum 250ml")
    assert normalise_units("AQUA 900 ML") == "aqua 900ml"
    assert normalise_units("Susu 3x200ml") == "susu 3pcs 200ml"
    assert normalise_units("Jack 3.5mm") == "jack 3_5mm"          # one token, not "3" and "5mm"
    assert normalise_units("Kaos PROMO 10rb") == "kaos promo 10rb"
    assert normalise_units("Oli 10W-30") == "oli 10w-30"
    assert normalise_units(None) == ""
