"""The Training page (AppTest): curves of the trained model with its kept epoch, the sweep figure
with the study's values beside ours, and what a bundle without either says."""


from shopee_core.analysis import sweeps as S
from shopee_core.analysis import training as T
from shopee_core.bundle import Bundle
from tests.analyses_bundle import SWEEP, TRAINED, analyses_bundle  # noqa: F401  (session fixture)
from tests.analysis.bundles import open_page, tiny_bundle

PAGE = "app_pages/training.py"


def frame_with(at, column: str):
    """The shown table that has ``column`` (AppTest does not report st.dataframe keys)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def test_curves_and_the_sweep_figure(analyses_bundle, monkeypatch):  # noqa: F811
    at = open_page(PAGE, analyses_bundle, monkeypatch)
    assert at.multiselect(key="train-models").value == [TRAINED]
    charts = at.get("plotly_chart")
    assert len(charts) == 4  # loss, LR, valid F1, the sweep figure
    kept = frame_with(at, "kept_epoch")
    b = Bundle.open(analyses_bundle)
    assert int(kept["kept_epoch"].iloc[0]) == b.history(TRAINED)[-1]["selection"]["best_epoch"] + 1
    assert int(kept["epochs"].iloc[0]) == 3
    best = frame_with(at, "best_margin")
    ours = S.long_form([b.sweep(SWEEP)])
    assert float(best["f1"].iloc[0]) == ours["f1"].max()
    at.segmented_control(key="train-variant-best").set_value("min2").run()
    at.segmented_control(key="train-metric").set_value("recall").run()
    assert not at.exception
    best = frame_with(at, "best_margin")
    assert float(best["recall"].iloc[0]) == S.long_form([b.sweep(SWEEP)], variant="min2")["recall"].max()


def test_figure_data_puts_the_studys_values_beside_ours(analyses_bundle):  # noqa: F811
    b = Bundle.open(analyses_bundle)
    ours = S.long_form([b.sweep(SWEEP)])
    fig = S.figure_frame(ours, b.seed_sweeps)
    study = fig[fig["source"] == "study"]
    # the study's bert-base-multilingual-uncased ArcFace line: margins 0.5-0.8 from its tables
    assert list(study["margin"]) == [0.5, 0.6, 0.7, 0.8] and study["value"].iloc[0] == 0.817695
    assert set(fig[fig["source"] == "ours"]["margin"]) == {0.5, 0.7}
    assert S.figure_frame(S.long_form([b.sweep(SWEEP)], split="valid"), b.seed_sweeps, split="valid")[
        "source"].eq("ours").all()  # the study's are test numbers: not beside validation ones
    frame = T.curves(b, [TRAINED])
    assert list(frame["epoch"]) == [1, 2, 3] and frame["kept"].sum() == 1
    assert {"lr:backbone", "lr:head"} <= set(frame.columns)


def test_a_bundle_without_histories_or_sweeps_says_so(tmp_path_factory, monkeypatch):
    at = open_page(PAGE, tiny_bundle(tmp_path_factory), monkeypatch)
    infos = " ".join(i.value for i in at.info)
    assert "No model of this bundle ships a training history" in infos and "ships no sweep" in infos
