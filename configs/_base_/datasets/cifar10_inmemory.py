# CIFAR-10 gathered as whole uint8 batches from memory (InMemoryBatchDataset):
# no per-sample Python, no DataLoader worker competing with the training threads.
# Crop/flip/translate run per batch in the data preprocessor, as in cifar10_bs128.
# data_root, indices, download set on train_dataloader.dataset are forwarded to
# the wrapped VerifiedCIFAR10.
_base_ = ['./cifar10_bs128.py']

_cifar = dict(type='VerifiedCIFAR10', data_root='{{$CIFAR10_ROOT:data/cifar10}}', pipeline=[])
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='batch_passthrough'),
    dataset=dict(_delete_=True, type='InMemoryBatchDataset',
                 dataset=dict(_cifar, split='train')),
)
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    collate_fn=dict(type='batch_passthrough'),
    dataset=dict(_delete_=True, type='InMemoryBatchDataset',
                 dataset=dict(_cifar, split='test')),
)
test_dataloader = val_dataloader
tta_pipeline = []  # the wrapped dataset's (unused) pipeline, also under --tta
