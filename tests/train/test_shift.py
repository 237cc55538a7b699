"""``shift``: training images moved by a few pixels (augmentation for 28 x 28 datasets)."""

import pytest
import torch

from lgn_hw.train import ConfigError, TrainConfig
from lgn_hw.train.trainer import shift_images


def test_each_image_moves_as_a_whole_and_black_comes_in():
    n, levels = 64, 2
    img = torch.zeros(n, 28, 28, levels)
    img[:, 10:14, 12:15, :] = 1.0                 # a block of lit pixels, every thermometer bit set
    img[:, 10, 12, 1] = 0.0                       # one pixel lit at the first level only
    out = shift_images(img.reshape(n, -1), (28, 28, levels), 2, torch.Generator().manual_seed(0))
    out = out.reshape(n, 28, 28, levels)
    moves = set()
    for i in range(n):
        lit = (out[i, :, :, 0] > 0).nonzero()
        dy, dx = int(lit[:, 0].min()) - 10, int(lit[:, 1].min()) - 12
        assert -2 <= dy <= 2 and -2 <= dx <= 2
        want = torch.zeros(28, 28, levels)
        want[10 + dy:14 + dy, 12 + dx:15 + dx, :] = 1.0
        want[10 + dy, 12 + dx, 1] = 0.0
        assert torch.equal(out[i], want)          # pixel-major bits move together, nothing else changes
        moves.add((dy, dx))
    assert len(moves) > 10                        # offsets vary per image


def test_shift_is_for_image_datasets_and_bounded(tmp_path):
    from lgn_hw.train import train

    with pytest.raises(ConfigError, match=r"^'shift' must be 0\.\.4 pixels, not 5$"):
        TrainConfig(shift=5)
    with pytest.raises(ValueError, match=r"^--shift moves 28 x 28 images \(mnist, fashion_mnist\), not monk1$"):
        train(TrainConfig(dataset="monk1", layers=1, width=20, epochs=1, shift=1), tmp_path / "run", quiet=True)
