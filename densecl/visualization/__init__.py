from .panel import contact_sheet, draw_panel

__all__ = ['contact_sheet', 'draw_panel']
