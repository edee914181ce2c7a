"""The words of the recorded numbers, the drift between runs and the pictures of trained
models, in English and Simplified Chinese: ``words.say`` reads them (see words.py)."""

NUMBERS = {
    # numbers.py: the tutorial's numbers beside ours, and the full-size table
    "last batch": ("loss on the last training batch", "最后一个训练小批量的损失"),
    "last valid": ("validation loss after the last epoch", "最后一轮后的验证损失"),
    "numbers head": ("| | {name} | validation accuracy |", "| | {name} | 验证准确率 |"),
    "tutorial row": ("| the tutorial: full MNIST, 2 epochs, no seed | ",
                     "| 教程：完整 MNIST，2 轮，未设随机种子 | "),
    "not printed": ("{printed:.4f} | not printed |", "{printed:.4f} | 未打印 |"),
    "no step": ("no such step | |", "无此步骤 | |"),
    "seed 0 row": ("| mnistlab: the sample, {epochs} epochs, seed 0 | ",
                   "| mnistlab：内置样本，{epochs} 轮，随机种子 0 | "),
    "seeds row": ("| mnistlab: seeds 0 to {last}, mean ± sd (range) | ",
                  "| mnistlab：随机种子 0 到 {last}，均值 ± 标准差（范围） | "),
    "spread": ("{mean:.4f} ± {sd:.4f} ({low:.4f} to {high:.4f})",
               "{mean:.4f} ± {sd:.4f}（{low:.4f} 到 {high:.4f}）"),
    "recorded": ("Recorded by `{command}` with torch {torch} on {date}. The two runs see about as "
                 "many examples: {epochs} epochs of the sample's 4,000 digits, 2 of the "
                 "tutorial's 50,000. Ours differ from the tutorial's because the data differ (12 "
                 "times fewer digits to learn from, and a validation set of 1,000 instead of "
                 "10,000), and the tutorial's own numbers change from run to run: it sets no "
                 "seed.\n",
                 "由 `{command}` 于 {date} 用 torch {torch} 记录。两边训练时见到的样本数大致相当："
                 "内置样本的 4,000 个数字训练 {epochs} 轮，教程的 50,000 个数字训练 2 轮。"
                 "我们的数字与教程不同，一是因为数据不同（可供学习的数字少 12 倍，"
                 "验证集是 1,000 个而不是 10,000 个），二是教程自己的数字每次运行都会变："
                 "它没有设置随机种子。\n"),
    "strip axis": ("final validation accuracy, seeds 0 to {last}",
                   "横轴：最终验证准确率，随机种子 0 到 {last}，每个点是一个随机种子。"),
    "strip alt": ("final validation accuracy of {names} over every recorded seed",
                  "{names} 在每个已记录随机种子上的最终验证准确率"),
    "full head": ("| stage | epochs | optimizer steps | validation loss | validation accuracy |",
                  "| 阶段 | 轮数 | 优化器更新步数 | 验证损失 | 验证准确率 |"),
    "full recorded": ("Recorded by `{command}` with torch {torch} on {date}, seed {seed}. Here the "
                      "CNN (`cnn`) ends at {cnn:.4f} and the logistic model (`fit`) at "
                      "{logistic:.4f}; on the sample, over {seeds} seeds, they average {a:.4f} "
                      "and {b:.4f}.\n",
                      "由 `{command}` 于 {date} 用 torch {torch} 记录，随机种子 {seed}。在这里，"
                      "卷积神经网络（`cnn`）最终为 {cnn:.4f}，逻辑回归模型（`fit`）为 "
                      "{logistic:.4f}；在内置样本上，{seeds} 个随机种子的平均值分别为 {a:.4f} "
                      "和 {b:.4f}。\n"),
    # drift.py: two runs that should agree
    "train_loss": ("training loss", "训练损失"), "valid_loss": ("validation loss", "验证损失"),
    "agree": ("agree to the last bit in all {epochs} epochs", "在全部 {epochs} 轮中逐位相同"),
    "differ": ("differ from epoch {first} on, at first by a relative {rel:.0e} ({name} {x:.9f} "
               "against {y:.9f})",
               "从第 {first} 轮起出现差异，起初的相对差为 {rel:.0e}（{name} {x:.9f} 对 {y:.9f}）"),
    "amplified": ("; training amplifies it, and the printed numbers part at epoch {epoch} "
                  "({pairs})",
                  "；训练会放大这一差异，打印出的数字在第 {epoch} 轮分开（{pairs}）"),
    "pair": ("{name} {x:.4f} against {y:.4f}", "{name} {x:.4f} 对 {y:.4f}"),
    "comma": (", ", "，"),
    "pooling": ("With seed 0, `{first}` and `{second}` {parting}. After {epochs} epochs their "
                "validation accuracy is {a:.4f} and {b:.4f}; over the {seeds} recorded seeds, "
                "{ma:.4f} and {mb:.4f} on average.\n",
                "随机种子为 0 时，`{first}` 和 `{second}` {parting}。训练 {epochs} 轮后，两者的验证"
                "准确率分别为 {a:.4f} 和 {b:.4f}；在已记录的 {seeds} 个随机种子上，平均为 {ma:.4f} "
                "和 {mb:.4f}。\n"),
    "processes head": ("| epoch | 1 process | {nproc} processes | difference |",
                       "| 轮 | 1 个进程 | {nproc} 个进程 | 差值 |"),
    "processes": ("\n\nThe validation loss after each epoch, seed 0, recorded by `{command}`. One "
                  "process and {nproc} processes {parting}. After the last epoch the validation "
                  "accuracy is {a:.4f} for one process and {b:.4f} for {nproc}.\n",
                  "\n\n每轮结束后的验证损失，随机种子 0，由 `{command}` 记录。1 个进程和 {nproc} "
                  "个进程{parting}。最后一轮后，1 个进程的验证准确率为 {a:.4f}，{nproc} 个进程"
                  "为 {b:.4f}。\n"),
    # figures.py: a trained model's pictures
    "weights alt": ("the weights of the {stage} stage after training, one image per digit",
                    "{stage} 阶段训练后的权重，每个数字一幅图"),
    "row": ("a row of the sample", "内置样本中的一行"),
    "receives": ("what `{name}` receives", "`{name}` 接收的输入"),
    "gives": ("`{name}` gives", "`{name}` 的输出"),
    "scores": ("the model's output: ten scores", "模型的输出：十个得分"),
    "shapes head": ("| where | shape of one image |", "| 位置 | 一幅图像的形状 |"),
    "shapes": ("The image is `x_valid[{digit}]` of the sample, a {label}; the model's highest "
               "score is for the {guess}.\n\n",
               "这幅图像是内置样本的 `x_valid[{digit}]`，写的是数字 {label}；模型给出最高得分的是"
               "数字 {guess}。\n\n"),
    "maps alt": ("feature maps of the {stage} stage for a {label}",
                 "{stage} 阶段对数字 {label} 的特征图"),
}
