import pytest

from shopee_core.bundle.builder import build


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory):
    """A quick real bundle (TF-IDF + pHash, no UMAP) built from the tiny catalog."""
    from tests.conftest import write_tiny_catalog

    root = tmp_path_factory.mktemp("small")
    write_tiny_catalog(root / "cat", n_groups=40)
    build("smoke", root / "cat", root / "bundle", only=["tfidf", "phash"], umap=False)
    return root / "bundle"


@pytest.fixture(scope="session")
def small_bundle_f16(tmp_path_factory):
    """The small bundle stored lean: float16 rows and similarities (as the demo bundle)."""
    from tests.conftest import write_tiny_catalog

    root = tmp_path_factory.mktemp("small16")
    write_tiny_catalog(root / "cat", n_groups=40)
    build("smoke", root / "cat", root / "bundle", only=["tfidf", "phash"], umap=False, storage="float16")
    return root / "bundle"
