import pytest
import torch


@pytest.fixture(scope="module")
def segmentor():
    import radseg.mmseg  # noqa: F401
    # isort: split
    from mmseg.registry import MODELS
    return MODELS.build(dict(type="RADSegSegmentation", model_version="tiny-random", class_names="voc20",
                             num_classes=20, slide_crop=224, slide_stride=112)).eval()


def test_every_image_of_a_batch_is_segmented_at_its_original_size(segmentor):
    from mmseg.structures import SegDataSample
    torch.manual_seed(0)
    inputs = torch.randn(2, 3, 224, 300)
    samples = [SegDataSample(metainfo=dict(ori_shape=(100, 133))), SegDataSample(metainfo=dict(ori_shape=(50, 67)))]
    out = segmentor.predict(inputs, samples)
    assert out[0].seg_logits.data.shape == (20, 100, 133) and out[1].seg_logits.data.shape == (20, 50, 67)
    assert out[1].pred_sem_seg.data.shape == (1, 50, 67)
    alone = segmentor.encoder.predict(inputs[1:2], ori_shape=(50, 67))
    assert torch.equal(out[1].seg_logits.data, alone.probs)
    assert torch.equal(out[1].pred_sem_seg.data[0], alone.labels)


def test_reference_preprocessing(segmentor):
    dp = segmentor.data_preprocessor
    assert dp.channel_conversion and dp.pad_val == 0 and dp.test_cfg is None
    assert torch.allclose(dp.mean.flatten(), torch.tensor([122.771, 116.746, 104.094]))
    assert torch.allclose(dp.std.flatten(), torch.tensor([68.501, 66.632, 70.323]))
    # no padding: a 37 x 53 image reaches the encoder as 37 x 53
    data = dict(inputs=[torch.randint(0, 255, (3, 37, 53), dtype=torch.uint8)], data_samples=None)
    x = dp(data, False)["inputs"]
    assert x.shape == (1, 3, 37, 53)
    raw = data["inputs"][0].float()
    expect = (raw.flip(0) - torch.tensor([122.771, 116.746, 104.094]).view(3, 1, 1)) / \
        torch.tensor([68.501, 66.632, 70.323]).view(3, 1, 1)
    assert torch.allclose(x[0], expect, atol=1e-5)  # BGR -> RGB, then CLIP stats


def test_class_names_file_is_validated(tmp_path):
    import radseg.mmseg  # noqa: F401
    # isort: split
    from mmseg.registry import MODELS

    from radseg.errors import ClassNamesError
    bad = tmp_path / "c.txt"
    bad.write_text("a\nb\n")
    with pytest.raises(ClassNamesError):
        MODELS.build(dict(type="RADSegSegmentation", model_version="tiny-random", class_names=str(bad),
                          num_classes=20))
