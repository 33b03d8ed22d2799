from .fast_cifar_net import FastCIFARNet
from .resnet_ms import ResNetMS

__all__ = ['FastCIFARNet', 'ResNetMS']
