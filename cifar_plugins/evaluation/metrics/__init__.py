from .val_loss import ValLoss

__all__ = ['ValLoss']
