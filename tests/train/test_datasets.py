"""Training crops and validation pictures from a folder."""

from __future__ import annotations

import shutil

import pytest
import torch

from codeclab.errors import InputError
from codeclab.io.image import write_png
from codeclab.train import seeding
from codeclab.train.datasets import (RandomCropDataset, centre_crop, find_images, load_validation_images,
                                     random_crop, to_unit_float)
from codeclab.train.distributed import StepBatchSampler


def test_find_images_scans_recursively_in_sorted_order_and_skips_hidden(samples_dir, tmp_path):
    (tmp_path / "b" / "c").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for target in ("a.png", "b/c/d.PNG", ".hidden/e.png", "b/notes.txt"):
        shutil.copy(samples_dir / "kodim23_crop256.png", tmp_path / target)
    assert [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)] == ["a.png", "b/c/d.PNG"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no pictures"):
        find_images(empty)
    with pytest.raises(InputError, match="does not exist"):
        find_images(tmp_path / "missing")


def test_sample_k_is_a_random_crop_of_a_random_picture_drawn_from_its_own_generator(samples_dir):
    dataset = RandomCropDataset(samples_dir, 48, seed=5)
    crops = [dataset[k] for k in range(12)]
    for k, crop in enumerate(crops):
        generator = seeding.generator(5, seeding.CROPS, k)  # the recipe of the module docstring
        picture = dataset.picture(int(torch.randint(3, (), generator=generator)))
        assert torch.equal(crop, random_crop(picture, 48, generator))
        assert crop.shape == (3, 48, 48) and crop.dtype == torch.uint8 and crop.is_contiguous()
    assert all(torch.equal(dataset[k], crops[k]) for k in range(12))   # the same index, the same crop
    assert len({c.numpy().tobytes() for c in crops}) == 12              # different indices differ
    uncached = RandomCropDataset(samples_dir, 48, seed=5, cache=False)
    assert all(torch.equal(uncached[k], crops[k]) for k in range(12))   # caching changes nothing
    assert not torch.equal(RandomCropDataset(samples_dir, 48, seed=6)[0], crops[0])


def test_random_crop_gives_each_window_in_each_flip():
    image = torch.arange(3 * 5 * 6, dtype=torch.uint8).reshape(3, 5, 6)  # every window unique
    windows = {image[:, t:t + 4, l:l + 4].flip(dims).numpy().tobytes()
               for t in range(2) for l in range(3) for dims in ((), (-1,), (-2,), (-2, -1))}
    generator = torch.Generator().manual_seed(0)
    drawn = {random_crop(image, 4, generator).numpy().tobytes() for _ in range(400)}
    assert drawn == windows and len(windows) == 2 * 3 * 4


def test_pictures_smaller_than_the_crop_are_skipped_with_a_note(samples_dir, tmp_path):
    shutil.copy(samples_dir / "kodim05_crop256.png", tmp_path / "big.png")
    write_png(tmp_path / "small.png", torch.zeros(3, 40, 300, dtype=torch.uint8))
    write_png(tmp_path / "grey.png", torch.full((1, 200, 200), 77, dtype=torch.uint8))
    notes = []
    dataset = RandomCropDataset(tmp_path, 64, seed=0, note=notes.append)
    assert [p.name for p in dataset.paths] == ["big.png", "grey.png"]
    assert len(notes) == 1 and "skipped 1 of 3 pictures smaller than the 64x64 crop: small.png (300x40)" in notes[0]
    assert dataset.picture(1).shape == (3, 200, 200)  # grey repeated to RGB
    with pytest.raises(InputError, match="every picture is smaller than the 512x512 crop"):
        RandomCropDataset(tmp_path, 512, seed=0, note=notes.append)


def test_validation_pictures_are_whole_or_centre_crops_in_sorted_order(samples_dir):
    whole = load_validation_images(samples_dir)
    assert [name for name, _ in whole] == ["kodim05_crop256.png", "kodim15_crop256.png", "kodim23_crop256.png"]
    assert all(p.shape == (3, 256, 256) for _, p in whole)
    cropped = load_validation_images(samples_dir, crop=100)
    assert torch.equal(cropped[0][1], whole[0][1][:, 78:178, 78:178])
    assert centre_crop(whole[0][1], 1000).shape == (3, 256, 256)


def test_the_loader_gives_the_same_batches_with_any_number_of_workers(samples_dir):
    dataset = RandomCropDataset(samples_dir, 32, seed=1)
    batches = {}
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=StepBatchSampler(3, 7, 4), num_workers=workers)
        batches[workers] = list(loader)
    assert len(batches[0]) == 4 and batches[0][0].shape == (4, 3, 32, 32)
    assert all(torch.equal(a, b) for a, b in zip(batches[0], batches[2]))


def test_step_batches_are_disjoint_across_ranks_and_steps():
    samplers = [StepBatchSampler(0, 5, 3, rank, 2) for rank in range(2)]
    indices = [i for sampler in samplers for batch in sampler for i in batch]
    assert sorted(indices) == list(range(5 * 3 * 2))
    assert list(StepBatchSampler(4, 5, 3, 1, 2)) == [samplers[1].indices(4)] == [[27, 28, 29]]


def test_to_unit_float_maps_0_255_to_0_1():
    x = to_unit_float(torch.tensor([0, 51, 255], dtype=torch.uint8))
    assert x.dtype == torch.float32 and torch.equal(x, torch.tensor([0.0, 0.2, 1.0]))
