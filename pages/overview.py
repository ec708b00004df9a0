"""Overview: what the tool holds today and the seed report's numbers to beat."""

from pathlib import Path

import pandas as pd
import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "precomputed" / "reference" / "seed_results.csv"


@st.cache_data
def seed_results() -> pd.DataFrame:
    return pd.read_csv(REFERENCE)


st.title("Shopee match explorer")
st.caption("Find every posting of the same product from its photo and title - and see where models fail.")

bundles = sorted(p.parent.name for p in (ROOT / "precomputed").glob("*/manifest.json"))
if bundles:
    st.success(f"Bundles found: {', '.join(bundles)}")
else:
    st.info(
        "No model bundle has been built yet. The leaderboard, query-by-example, comparison, embedding maps, "
        "threshold and failure pages arrive with the first bundle (`python -m shopee_core build-bundle`)."
    )

st.subheader("The seed report's results (test split, row-wise F1)")
df = seed_results()
cols = ["id", "model", "family", "config", "threshold", "min2_threshold", "f1", "f1_min2", "f1_inb"]
st.dataframe(
    df[cols],
    hide_index=True,
    use_container_width=True,
    column_config={
        "f1": st.column_config.ProgressColumn("F1", min_value=0.0, max_value=1.0, format="%.4f"),
        "f1_min2": st.column_config.NumberColumn("F1 Min2", format="%.4f"),
        "f1_inb": st.column_config.NumberColumn("F1 INB", format="%.4f"),
    },
)
best = df.loc[df["f1_min2"].idxmax()]
st.metric("Best seed model (with Min2)", best["model"], f"F1 {best['f1_min2']:.4f}", delta_color="off")
