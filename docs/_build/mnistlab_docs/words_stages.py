"""The stage table's titles and whys in Simplified Chinese, for the helper's ``lang="zh"``.

Each row keeps the English it translates, as ``mnistlab/stages.py`` has it: a test fails when
the stage table's words change and these do not (``tests/test_zh_pages.py``)."""

STAGE_WORDS = {  # name: (title, why, 标题, 原因)
    "scratch": (
        "logistic regression from raw tensors",
        "the starting point: hand-written model, loss, update and batching",
        "用原始张量实现逻辑回归", "起点：手写的模型、损失、更新和分批"),
    "functional": (
        "F.cross_entropy replaces the hand-written loss",
        "same maths (log-softmax then NLL), fused in one function",
        "F.cross_entropy 取代手写的损失", "数学相同（先 log-softmax 再 NLL），合并在一个函数里"),
    "module": (
        "nn.Module and nn.Parameter hold the weights",
        "same weights, drawn in the same order: only where they live changes",
        "由 nn.Module 和 nn.Parameter 保存权重",
        "权重相同，抽取顺序也相同：变的只是权重存放的地方"),
    "linear": (
        "nn.Linear replaces the hand-made weights",
        "changes behaviour: nn.Linear initialises its weights differently",
        "nn.Linear 取代手工创建的权重", "nn.Linear 用另一种方式初始化权重"),
    "optim": (
        "torch.optim.SGD replaces the manual update",
        "plain SGD is exactly p -= lr * p.grad",
        "torch.optim.SGD 取代手写的更新", "不带动量的 SGD 恰好就是 p -= lr * p.grad"),
    "dataset": (
        "TensorDataset slices inputs and targets together",
        "same slices, taken from one object",
        "TensorDataset 同时切出输入和目标", "切片相同，只是从同一个对象中取出"),
    "dataloader": (
        "DataLoader hands out the batches",
        "same batches in the same order",
        "由 DataLoader 分发批量", "批量相同，顺序也相同"),
    "validation": (
        "shuffle the training set and measure validation loss every epoch",
        "changes behaviour: shuffling gives each epoch a new batch order",
        "打乱训练集，每轮测量验证损失", "打乱让每一轮都有新的批量顺序"),
    "fit": (
        "fit() and loss_batch() wrap the loop",
        "same training; the validation mean is now weighted by batch size",
        "用 fit() 和 loss_batch() 封装循环", "训练相同；验证损失的均值现在按批量大小加权"),
    "cnn": (
        "a three-layer convolutional network",
        "changes behaviour: a new model, trained with lr 0.1 and momentum 0.9",
        "三层卷积神经网络", "换了新模型，用学习率 0.1 和动量 0.9 训练"),
    "sequential": (
        "the same CNN as nn.Sequential",
        "same layers created in the same order, so the same weights",
        "用 nn.Sequential 写成的同一个 CNN", "以相同顺序创建相同的层，所以权重相同"),
    "wrapped": (
        "the reshape moves out of the model into a wrapped DataLoader",
        "same batches, reshaped before the model instead of inside it",
        "改变形状从模型移到包装过的 DataLoader 中",
        "批量相同，只是在进入模型之前而不是在模型里改变形状"),
    "adaptive": (
        "AdaptiveAvgPool2d: the model no longer fixes the image size",
        "equal to AvgPool2d(4) on a 4x4 map, up to float rounding; the data readers and "
        "the run folder's digit grid still take 28x28 images",
        "AdaptiveAvgPool2d：模型不再限定图像大小",
        "在 4x4 的特征图上与 AvgPool2d(4) 相等，至多相差浮点舍入；数据读取器和运行目录里的"
        "数字网格图仍然只接受 28x28 的图像"),
    "gpu": (
        "train on the GPU when there is one",
        "same numbers on a CPU-only machine; on a GPU, float rounding differs",
        "有 GPU 时就在 GPU 上训练", "在只有 CPU 的机器上数字相同；在 GPU 上浮点舍入会不同"),
    "fast": (
        "batches cut on the device, with no per-example collate",
        "same batches in the same order, from tensors moved to the device once",
        "在设备上切出批量，不再逐个样本地整理（collate）",
        "批量相同，顺序也相同，只是张量一次性移到设备上后再切"),
    "distributed": (
        "N processes share every batch with DistributedDataParallel",
        "one process trains as fit_loop does; N end where one does, up to float rounding",
        "N 个进程借助 DistributedDataParallel 分担每个批量",
        "一个进程的训练与 fit_loop 相同；N 个进程最终与一个进程一致，至多相差浮点舍入"),
}
