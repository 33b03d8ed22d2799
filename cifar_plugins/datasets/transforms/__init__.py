from .auto_augment_policies import (CIFAR10_AUTOAUG_POLICY,
                                    CIFAR_RANDAUG_POLICY, autoaugment_op)

__all__ = ['CIFAR10_AUTOAUG_POLICY', 'CIFAR_RANDAUG_POLICY', 'autoaugment_op']
