"""The PIL pictures of a run (sample grids, 2-D scatter plots, loss curves): what they show.

They need no plotting library, so nothing here is skipped for want of matplotlib.
"""

import torch
from PIL import ImageDraw

from gandiff.pil_utils import image_grid, loss_curve, scatter_plot, tile_images

WHITE = (255, 255, 255)


def test_colour_grid_has_white_gaps_between_tiles():
    """Regression: the gaps and border of a colour grid were red (Image.new("RGB", ..., 255) is (255, 0, 0))."""
    images = torch.zeros(4, 3, 8, 8)  # black tiles, so any colour in the picture is a gap's
    grid = image_grid(images, min_tile=8, padding=2)
    assert grid.mode == "RGB" and grid.size == (2 * (8 + 2) + 2, 2 * (8 + 2) + 2)
    colours = {colour for _, colour in grid.getcolors()}
    assert colours == {(0, 0, 0), WHITE}
    grey = image_grid(images[:, :1], min_tile=8, padding=2)
    assert grey.mode == "L" and {colour for _, colour in grey.getcolors()} == {0, 255}


def test_one_pixel_per_value_enlarged_to_squares():
    images = torch.tensor([0.0, 1.0]).reshape(1, 1, 1, 2).expand(1, 1, 2, 2).contiguous()  # columns 0 and 1
    grid = image_grid(images, min_tile=8, padding=0)
    assert grid.size == (8, 8)  # 2 × 2 pixels enlarged 4 times
    assert grid.getpixel((3, 5)) == 0 and grid.getpixel((4, 5)) == 255


def _texts(monkeypatch):
    drawn = []
    original = ImageDraw.ImageDraw.text

    def text(self, xy, string, *args, **kwargs):
        drawn.append(string)
        return original(self, xy, string, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    return drawn


def test_scatter_plot_draws_samples_over_the_data(monkeypatch):
    drawn = _texts(monkeypatch)
    samples = torch.tensor([[0.0, 0.0], [100.0, 100.0]])  # the second lies outside the data's frame
    data = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    picture = scatter_plot(samples, data, size=120, title="step 5")
    colours = {colour for _, colour in picture.getcolors(120 * 120)}
    assert (214, 39, 40) in colours and (190, 190, 190) in colours  # red samples, grey data
    assert drawn == ["step 5  red: 2 samples (1 outside)  grey: data"]


def test_loss_curve_has_one_panel_per_group():
    records = [{"step": s, "d_loss": 1.0 / s, "g_loss": 0.5} for s in range(1, 20)]
    picture = loss_curve(records, [["d_loss", "g_loss"], ["d_real"]], width=400)
    assert picture.size == (400, 600)


def test_gandiff_sample_of_points_claims_no_data_it_does_not_draw(tmp_path, monkeypatch):
    """Regression: `gandiff sample` of a 2-D pipeline said "grey: data" and drew none."""
    from gandiff import GANPipeline, MLPGenerator, cli

    torch.manual_seed(0)
    GANPipeline(generator=MLPGenerator(hidden_dim=8, num_layers=1)).save_pretrained(tmp_path / "gan")
    drawn = _texts(monkeypatch)
    assert cli.main(["sample", str(tmp_path / "gan"), "--num-samples", "50", "--out", str(tmp_path / "s.png")]) == 0
    assert len(drawn) == 1 and "red: 50 samples" in drawn[0] and "data" not in drawn[0]


def test_scatter_plot_without_data_is_framed_by_the_samples(monkeypatch):
    drawn = _texts(monkeypatch)
    picture = scatter_plot(torch.tensor([[0.0, 0.0], [1.0, 2.0], [-3.0, 1.0]]), size=100)
    assert (214, 39, 40) in {colour for _, colour in picture.getcolors(100 * 100)}
    assert drawn == ["red: 3 samples (0 outside)"]  # every sample inside the frame; no data named


def test_tile_images_places_each_image_in_its_cell():
    images = torch.arange(3.0).reshape(3, 1, 1, 1).expand(3, 1, 2, 2) / 4  # values 0, 0.25, 0.5
    grid = tile_images(images, nrow=2, padding=1, border=1)
    assert grid.shape == (1, 1 + 2 + 1 + 2 + 1, 1 + 2 + 1 + 2 + 1)
    assert grid[0, 1:3, 1:3].eq(0).all() and grid[0, 1:3, 4:6].eq(0.25).all() and grid[0, 4:6, 1:3].eq(0.5).all()
    assert grid[0, 4:6, 4:6].eq(1).all()  # the empty last cell stays white, as do the gaps
    assert grid[0, 0].eq(1).all() and grid[0, :, 3].eq(1).all()
