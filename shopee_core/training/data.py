"""Datasets of postings: images through the recipe's transforms, cached features, titles through its tokenizer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.images import open_image


class ImagePostings(Dataset):
    def __init__(self, paths: Sequence[Path], labels: np.ndarray | None, transform: Callable):
        self.paths, self.transform = list(paths), transform
        self.labels = np.full(len(self.paths), -1, dtype=np.int64) if labels is None else np.asarray(labels)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        return self.transform(open_image(self.paths[i])), int(self.labels[i])


def collate_images(batch):
    pixels, labels = zip(*batch)
    return {"pixels": torch.stack(pixels)}, torch.tensor(labels, dtype=torch.long)


class FeaturePostings(Dataset):
    """Rows of cached pooled features (the frozen stand-ins train on these, not on pixels)."""

    def __init__(self, features: np.ndarray, labels: np.ndarray | None):
        self.features = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
        self.labels = np.full(len(self.features), -1, dtype=np.int64) if labels is None else np.asarray(labels)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int):
        return self.features[i], int(self.labels[i])


def collate_features(batch):
    rows, labels = zip(*batch)
    return {"features": torch.stack(rows)}, torch.tensor(labels, dtype=torch.long)


class TitlePostings(Dataset):
    def __init__(self, titles: Sequence[str], labels: np.ndarray | None):
        self.titles = [str(t) for t in titles]
        self.labels = np.full(len(self.titles), -1, dtype=np.int64) if labels is None else np.asarray(labels)

    def __len__(self) -> int:
        return len(self.titles)

    def __getitem__(self, i: int):
        return self.titles[i], int(self.labels[i])


class TitleCollate:
    """Tokenises a batch with the encoder's tokenizer (picklable for worker processes)."""

    def __init__(self, tokenize: Callable, clean: bool):
        self.tokenize, self.clean = tokenize, clean

    def __call__(self, batch):
        titles, labels = zip(*batch)
        tokens = self.tokenize(list(titles), clean=self.clean)
        return {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}, \
            torch.tensor(labels, dtype=torch.long)
