"""Grid geometry shared by the lessons (``vit_tutorial.grid``)."""

import pytest
import torch

from vit_tutorial.grid import grid_distances, grid_positions


def test_positions_are_row_major():
    rows, cols = grid_positions((2, 3))
    assert rows.tolist() == [0, 0, 0, 1, 1, 1] and cols.tolist() == [0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize("metric, expected", [
    ("steps", [[0, 1, 3], [1, 0, 2], [3, 2, 0]]),
    ("chebyshev", [[0, 1, 2], [1, 0, 1], [2, 1, 0]]),
])
def test_distances_on_a_non_square_grid(metric, expected):
    # patches 0, 1 and 5 of a 2x3 grid: (0, 0), (0, 1) and (1, 2)
    table = grid_distances((2, 3), metric)[[0, 1, 5]][:, [0, 1, 5]]
    assert table.tolist() == expected


def test_euclidean_distances_in_pixels_with_rectangular_patches():
    table = grid_distances((2, 2), "euclidean", patch_size=(4, 3))
    assert table[0, 1].item() == 3.0 and table[0, 2].item() == 4.0 and table[0, 3].item() == 5.0
    assert torch.equal(table, table.T) and table.diagonal().abs().sum() == 0


def test_device_and_dtype():
    assert grid_distances(3, device="meta").device.type == "meta"
    assert grid_distances(3, dtype=torch.float32).dtype == torch.float32


def test_errors():
    with pytest.raises(ValueError, match="metric must be one of 'steps', 'euclidean'"):
        grid_distances(3, "manhattan")
    with pytest.raises(TypeError, match="dtype must be a floating torch.dtype"):
        grid_distances(3, dtype=torch.int64)
    with pytest.raises(ValueError, match="grid_size must be a positive int"):
        grid_distances(0)
