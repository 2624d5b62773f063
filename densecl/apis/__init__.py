from ..visualization import contact_sheet, draw_panel
from .inference import Prediction, inference, init_model, read_image

__all__ = ['Prediction', 'contact_sheet', 'draw_panel', 'inference', 'init_model', 'read_image']
