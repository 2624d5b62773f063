"""Image | segmentation overlay with legend | anomaly heat map with colour bar, as one array.

mmseg's SegLocalVisualizer draws segmentation only; anomaly maps need a
colour scale to be read, so the panel is drawn with matplotlib (Agg, no
window, no global pyplot state).
"""
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch


def _overlay(image_rgb, segmentation, palette, opacity):
    colours = np.asarray(palette, np.float32)[segmentation]
    return ((1 - opacity) * image_rgb + opacity * colours).astype(np.uint8)


def draw_panel(image, segmentation, classes, palette, anomaly_map=None, opacity=0.5,
               title=None, panel_inches=3.0, dpi=100):
    """RGB uint8 array: the image, its segmentation overlay and, if given, the anomaly map.

    Args:
        image (np.ndarray): (H, W, 3) BGR uint8 image (as cv2 / mmcv read it).
        segmentation (np.ndarray): (H, W) class indices.
        classes (Sequence[str]): class names; the legend lists the classes present.
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        anomaly_map (np.ndarray | None): (H, W) scores, higher = more anomalous.
        opacity (float): weight of the class colours in the overlay.
        title (str | None): figure title (e.g. the file name).
    """
    if segmentation.shape != image.shape[:2]:
        raise ValueError(f'segmentation {segmentation.shape} and image {image.shape[:2]} '
                         'differ in size')
    if segmentation.max(initial=0) >= len(palette):
        raise ValueError(f'segmentation has class {segmentation.max()} but the palette has '
                         f'{len(palette)} colours')
    rgb = image[..., ::-1]
    columns = 2 if anomaly_map is None else 3
    figure = Figure(figsize=(panel_inches * columns + 1.6, panel_inches + 0.5), dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    axes = figure.subplots(1, columns)
    axes[0].imshow(rgb)
    axes[0].set_title('image')
    axes[1].imshow(_overlay(rgb, segmentation, palette, opacity))
    axes[1].set_title('segmentation')
    present = np.unique(segmentation)
    axes[1].legend(handles=[Patch(color=np.asarray(palette[c]) / 255, label=classes[c])
                            for c in present],
                   loc='upper left', bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    if anomaly_map is not None:
        heat = axes[2].imshow(anomaly_map, cmap='inferno')
        axes[2].set_title('anomaly score')
        figure.colorbar(heat, ax=axes[2], fraction=0.046, pad=0.04)
    for ax in axes:
        ax.set_axis_off()
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def contact_sheet(panels, columns=2, border=4):
    """Panels (RGB arrays) in a white grid of ``columns``, as one RGB array."""
    if not panels:
        raise ValueError('contact_sheet needs at least one panel')
    height = max(p.shape[0] for p in panels) + border
    width = max(p.shape[1] for p in panels) + border
    rows = -(-len(panels) // columns)
    sheet = np.full((rows * height + border, min(columns, len(panels)) * width + border, 3), 255,
                    np.uint8)
    for i, panel in enumerate(panels):
        top, left = border + (i // columns) * height, border + (i % columns) * width
        sheet[top:top + panel.shape[0], left:left + panel.shape[1]] = panel
    return sheet
