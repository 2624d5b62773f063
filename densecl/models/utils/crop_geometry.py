"""Which pixels of two views show the same place of the image (PixPro's positives)."""
import numpy as np
import torch

# How crop boxes become image coordinates: 'pixel_centres' as PixPro's release,
# 'pixel_edges' as TwoViewCrop records them (see :func:`pixel_centre_boxes`).
CROP_COORDS = ('pixel_centres', 'pixel_edges')


def pixel_centre_boxes(boxes, shapes):
    """Crop boxes in the pixel-centre coordinates of PixPro's release.

    :class:`TwoViewCrop` records the pixel box ``[x1, x2) x [y1, y2)`` of a
    W x H image by its outer edges, ``(x1 / W, y1 / H, x2 / W, y2 / H)``:
    exact for mmcv's half-pixel resize. PixPro's release (Xie et al., CVPR
    2021) records the centres of the crop's first and last pixels,
    ``(x1 / (W - 1), y1 / (H - 1), (x2 - 1) / (W - 1), (y2 - 1) / (H - 1))``,
    so its bins are one pixel narrower and shifted by up to half a pixel.

    Args:
        boxes (Tensor): (..., 4) pixel-edge boxes in [0, 1].
        shapes (Tensor): (..., 2) (H, W) of the cropped images, broadcast
            against ``boxes``; H, W > 1.
    """
    size = shapes.to(boxes)[..., [1, 0, 1, 0]]
    last_pixel = boxes.new_tensor([0., 0., 1., 1.])
    return (boxes * size - last_pixel) / (size - 1)


def bin_centres(boxes, flips, height, width):
    """Centres of the bins of an (height, width) feature map in original-image coordinates.

    Args:
        boxes (Tensor): (B, 4) crop boxes (x1, y1, x2, y2), normalised to [0, 1].
        flips (Tensor): (B,) bool, True where the view was flipped horizontally
            (its first column then lies at x2, as in PixPro's released code).
        height (int): feature map height.
        width (int): feature map width.

    Returns:
        tuple[Tensor, Tensor]: (B, height * width, 2) bin centres (x, y) in
        row-major order, and (B,) bin diagonals.
    """
    boxes = boxes.float()
    x1, y1, x2, y2 = boxes.unbind(1)
    left, right = torch.where(flips, x2, x1), torch.where(flips, x1, x2)
    bin_w, bin_h = (right - left) / width, (y2 - y1) / height
    steps_x = torch.arange(width, dtype=boxes.dtype, device=boxes.device) + 0.5
    steps_y = torch.arange(height, dtype=boxes.dtype, device=boxes.device) + 0.5
    xs = left[:, None] + steps_x[None] * bin_w[:, None]
    ys = y1[:, None] + steps_y[None] * bin_h[:, None]
    centres = torch.stack([xs[:, None, :].expand(-1, height, -1),
                           ys[:, :, None].expand(-1, -1, width)], -1)
    return centres.reshape(boxes.shape[0], height * width, 2), torch.hypot(bin_w, bin_h)


def positive_pixel_pairs(boxes_a, flips_a, size_a, boxes_b, flips_b, size_b, threshold=0.7):
    """(B, La, Lb) bool: bin i of view a and bin j of view b are a positive pair.

    A pair is positive when the distance between the bin centres in the
    original image, divided by the larger bin diagonal of the two views, is
    below ``threshold`` (0.7 in PixPro, Xie et al., CVPR 2021).

    Args:
        boxes_a, boxes_b (Tensor): (B, 4) normalised crop boxes of the views.
        flips_a, flips_b (Tensor): (B,) bool horizontal flips.
        size_a, size_b (tuple[int, int]): (h, w) of each view's feature map.
        threshold (float): distance threshold in bin diagonals.
    """
    centres_a, diag_a = bin_centres(boxes_a, flips_a, *size_a)
    centres_b, diag_b = bin_centres(boxes_b, flips_b, *size_b)
    distance = torch.cdist(centres_a, centres_b)
    return distance / torch.maximum(diag_a, diag_b)[:, None, None] < threshold


def view_positive_pairs(data_samples, size_a, size_b, threshold=0.7,
                        crop_coords='pixel_centres', device=None):
    """:func:`positive_pixel_pairs` from view 0 to view 1 of packed two-view samples.

    Args:
        data_samples (list[SegDataSample]): samples of ``PackTwoViewInputs``,
            with ``crop_boxes`` (2, 4) and ``flips`` (2,) in their metainfo,
            and ``ori_shape`` (the image TwoViewCrop cropped) for 'pixel_centres'.
        size_a, size_b (tuple[int, int]): (h, w) of the feature maps of views 0 and 1.
        threshold (float): distance threshold in bin diagonals.
        crop_coords (str): 'pixel_centres' (PixPro's release,
            :func:`pixel_centre_boxes`) or 'pixel_edges' (the boxes as recorded).
        device (torch.device, optional): device of the result.
    """
    if crop_coords not in CROP_COORDS:
        raise ValueError(f'crop_coords must be one of {CROP_COORDS}, got {crop_coords!r}')
    if not data_samples or not all('crop_boxes' in s and 'flips' in s for s in data_samples):
        raise ValueError('pixel pairs need crop_boxes and flips in the data samples: build '
                         'the views with TwoViewCrop and PackTwoViewInputs')
    boxes = torch.as_tensor(np.stack([s.crop_boxes for s in data_samples]), device=device)
    flips = torch.as_tensor(np.stack([s.flips for s in data_samples]), device=device)
    if crop_coords == 'pixel_centres':
        if not all(s.get('ori_shape') is not None for s in data_samples):
            raise ValueError("crop_coords='pixel_centres' needs each sample's ori_shape: load "
                             'the images with LoadImageFromFile before TwoViewCrop')
        shapes = torch.as_tensor([s.ori_shape[:2] for s in data_samples], device=device)
        boxes = pixel_centre_boxes(boxes, shapes[:, None])
    return positive_pixel_pairs(boxes[:, 0], flips[:, 0], size_a, boxes[:, 1], flips[:, 1],
                                size_b, threshold)
