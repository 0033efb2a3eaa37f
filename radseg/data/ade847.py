"""ADE20K-847 (ADE-847) from the full ADE20K (``ADE20K_2021_17_01``), as CAT-Seg converts it.

Reproduces CAT-Seg's ``datasets/prepare_ade20k_full.py`` (= MESS's
``prepare_ade20k_full_sem_seg.py``; EXTRA_BENCHMARKS.md section 1.2), without detectron2:

1. ``index_ade20k.pkl`` lists ``folder`` / ``filename``; ``filename.split("_")[1] == "val"``
   is the validation split (2,000 images; the rest is training, converted only with ``train``).
2. The class of a pixel is ``(R / 10).astype(int32) * 256 + G`` of ``<image>_seg.png``.
3. Resized only when both sides exceed 512: the short side becomes 512 and the long one
   ``round(long / short * 512)`` (Python's ``round``: half to even); the image with
   ``cv2.INTER_LINEAR``, the class map with ``cv2.INTER_NEAREST``.
4. Raw class id -> trainId 0..846 through :data:`ADE847_RAW_IDS` (trainId = position); every
   other id (0 = unlabeled included) becomes 65535.
5. ``images_detectron2/<split>/<name>.jpg`` is re-encoded with ``PIL.Image.fromarray(img).save``
   (JPEG, Pillow's default quality 75, resized or not: bit-exact only with the same
   Pillow/libjpeg) and ``annotations_detectron2/<split>/<name>.tif`` is a uint16 TIFF.

Folders are flat (no scene sub-folders). An index entry whose image or ``_seg.png`` is missing
gets neither (a warning names it), so the prepared folder passes its verifier. Idempotent: a
pair whose image and TIFF label exist with the same size is kept. No mmseg / mmengine / mmcv imports.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from ..errors import DatasetError
from .benchmarks import candidate_roots
from .common import (
    PrepareResult,
    clean_temp_files,
    image_size,
    label16_is_valid,
    run_tasks,
    same_path,
    save_label16,
    worker_error,
)

#: Raw ADE20K class id of each ADE-847 trainId 0..846, in trainId order (CAT-Seg's / MESS's
#: ``ADE20K_SEM_SEG_FULL_CATEGORIES``, read from ``mess-benchmark`` 0.2); the names are
#: ``radseg/class_names/ade847.txt``.
ADE847_RAW_IDS: Tuple[int, ...] = (
    2978, 312, 2420, 2855, 2131, 976, 447, 165, 2377, 838, 350, 1831, 1125, 3055, 401, 1610,
    1910, 2684, 471, 687, 774, 2473, 2264, 1735, 2994, 1564, 1276, 2178, 2329, 57, 907, 913,
    1395, 2138, 2272, 2128, 724, 155, 2053, 2380, 689, 1788, 3087, 2530, 581, 2388, 2985, 2454,
    2096, 137, 294, 212, 2185, 524, 2212, 943, 1869, 2251, 2793, 2423, 1121, 266, 1948, 1744,
    783, 571, 627, 629, 491, 1374, 223, 3016, 2598, 978, 239, 608, 236, 2531, 2616, 591,
    327, 2679, 1451, 181, 420, 2821, 1023, 855, 2733, 2928, 1240, 77, 1969, 2880, 14, 1936,
    2828, 631, 103, 3144, 308, 1282, 38, 1563, 29, 480, 2569, 247, 187, 778, 2243, 1941,
    2833, 120, 95, 2836, 1087, 868, 1401, 220, 47, 843, 123, 2537, 1927, 2337, 1702, 64,
    249, 642, 1981, 609, 2840, 2586, 1393, 2704, 1304, 146, 1494, 2739, 389, 1551, 131, 738,
    161, 747, 1919, 3109, 2179, 2989, 206, 1930, 1002, 2254, 1708, 2526, 160, 2901, 2262, 44,
    597, 2235, 1260, 682, 2151, 3107, 432, 1098, 2932, 461, 410, 2046, 533, 1481, 1858, 894,
    1322, 1891, 1756, 49, 1272, 1229, 2850, 1784, 2962, 259, 319, 954, 1974, 1013, 2356, 97,
    318, 592, 2885, 1017, 851, 1407, 1332, 303, 2714, 1924, 1346, 1081, 1583, 2727, 2509, 2123,
    602, 202, 10, 490, 530, 2213, 1884, 2934, 2687, 387, 2668, 982, 2547, 1474, 877, 1391,
    414, 698, 2019, 2422, 3010, 1139, 753, 1747, 2175, 1301, 1033, 1789, 2939, 2730, 1652, 90,
    1349, 2830, 1485, 2370, 2155, 118, 1402, 1957, 3130, 1197, 52, 2688, 96, 762, 772, 1857,
    2315, 1016, 643, 3105, 1849, 791, 349, 6, 3114, 1587, 1233, 559, 1223, 3049, 1943, 853,
    709, 1390, 2748, 2007, 1546, 1513, 2600, 2538, 1790, 194, 326, 2877, 594, 2036, 1662, 2366,
    1754, 418, 2553, 1951, 1963, 918, 2086, 997, 2731, 704, 1365, 569, 3108, 948, 839, 63,
    1305, 378, 2362, 2734, 2982, 2398, 1119, 382, 1141, 1805, 3102, 2341, 1131, 2316, 2626, 3104,
    198, 1896, 2800, 190, 3131, 1463, 357, 929, 209, 912, 1164, 1509, 2539, 3116, 2615, 1644,
    818, 242, 2217, 2347, 2686, 2300, 572, 789, 358, 2443, 101, 2969, 2692, 606, 2339, 1533,
    2060, 1782, 495, 371, 2707, 889, 3156, 2683, 1499, 1135, 1619, 125, 2838, 2792, 1695, 746,
    1343, 1370, 2858, 145, 2565, 1892, 1103, 286, 170, 3073, 922, 1655, 1602, 2160, 1151, 2176,
    2239, 132, 394, 1424, 607, 700, 116, 1425, 2676, 141, 2360, 2449, 897, 317, 2228, 2351,
    1543, 656, 1088, 373, 2472, 2892, 1740, 3067, 1367, 188, 79, 1633, 1885, 677, 1779, 1297,
    2334, 3027, 2735, 1791, 2405, 1748, 2983, 3035, 2824, 2168, 385, 2148, 2465, 175, 390, 268,
    2722, 2857, 3088, 2926, 2782, 1378, 1934, 2072, 2889, 944, 1158, 1383, 867, 2145, 1915, 361,
    402, 482, 2761, 300, 1554, 636, 260, 1186, 871, 2859, 2103, 208, 2236, 2012, 2462, 1462,
    2832, 2617, 1024, 1129, 18, 376, 134, 407, 434, 2017, 2717, 2005, 2993, 1545, 1445, 2831,
    1161, 2411, 2949, 1769, 552, 2327, 939, 3013, 1986, 1486, 2723, 1549, 2649, 1020, 392, 422,
    1419, 2099, 2464, 3058, 430, 675, 2941, 2955, 2355, 840, 32, 2338, 1232, 2834, 2991, 2879,
    444, 1657, 2246, 296, 245, 2661, 1202, 1714, 251, 1095, 1828, 311, 2732, 947, 2115, 2738,
    2525, 2194, 634, 740, 2682, 2020, 1156, 1036, 1295, 1181, 3037, 1614, 736, 893, 2047, 1274,
    1361, 3036, 2606, 2797, 2022, 2876, 2758, 472, 3028, 882, 1189, 743, 3122, 2401, 468, 1061,
    1523, 3059, 2843, 2853, 1529, 214, 3032, 3071, 277, 813, 426, 1039, 727, 1508, 2490, 2299,
    768, 1172, 537, 1847, 1664, 1110, 1014, 662, 121, 227, 2410, 2165, 2696, 3005, 1231, 635,
    292, 2690, 65, 2607, 2574, 1188, 456, 2913, 459, 1955, 827, 1111, 2412, 2997, 528, 366,
    1863, 500, 1001, 1958, 1441, 809, 210, 435, 718, 1674, 388, 1572, 1584, 1944, 674, 99,
    2352, 1019, 1763, 185, 554, 1066, 2508, 951, 2822, 415, 297, 1914, 2619, 1338, 2505, 955,
    2786, 238, 3000, 2763, 299, 822, 1288, 3101, 2894, 992, 489, 2157, 2309, 1576, 1810, 2964,
    2662, 2087, 1569, 503, 1505, 1468, 1613, 1138, 1256, 2715, 2846, 477, 2576, 108, 2245, 1162,
    2149, 2183, 858, 1324, 1055, 1741, 149, 615, 825, 2143, 304, 283, 2322, 3017, 2510, 1960,
    265, 2282, 2184, 1461, 3113, 2372, 2166, 232, 693, 1945, 3039, 2494, 1908, 2827, 280, 2950,
    1044, 288, 2863, 1342, 2409, 1258, 2249, 2862, 920, 1607, 2802, 610, 3129, 1108, 2823, 476,
    2641, 2788, 2070, 1368, 2903, 699, 2844, 942, 2663, 457, 2701, 2540, 2231, 2746, 1738, 2350,
    2808, 2025, 2541, 2156, 126, 2512, 831, 2503, 2039, 2774, 886, 919, 2240, 2636, 963, 1218,
    1406, 1420, 526, 2639, 975, 1921, 2305, 1193, 2517, 2809, 1647, 314, 2560, 545, 1345, 775,
    603, 1163, 1641, 1678, 2450, 2915, 42, 2242, 2741, 1143, 862, 1654, 1826, 1689, 3124, 2710,
    152, 549, 360, 1982, 1478, 2203, 2612, 2956, 2681, 437, 2171, 1933, 3110, 1824, 2803, 234,
    764, 177, 817, 3145, 1262, 864, 2359, 2992, 1725, 2667, 2484, 1133, 1667, 2847, 932, 1392,
    2573, 2140, 1046, 264, 2927, 2752, 679, 2493, 1658, 2466, 1057, 2444, 2093, 2248, 2432, 726,
    816, 1171, 2766, 2900, 2313, 488, 2265, 2043, 332, 1771, 2320, 2646, 1089, 2826, 3148,
)
UNLABELED = 65535
MAX_SIZE = 512
INDEX_NAME = "index_ade20k.pkl"
IMG_DIR, LABEL_DIR = "images_detectron2", "annotations_detectron2"


def id_map() -> Dict[int, int]:
    """``{raw class id: trainId}`` (847 entries)."""
    return {raw: i for i, raw in enumerate(ADE847_RAW_IDS)}


def split_of(filename: str) -> str:
    """``"validation"`` if ``filename.split("_")[1] == "val"`` else ``"training"`` (CAT-Seg's rule)."""
    parts = filename.split("_")
    return "validation" if len(parts) > 1 and parts[1] == "val" else "training"


def resized_shape(h: int, w: int):
    """``(h_new, w_new)``, or ``None`` when no resize (a side <= 512). Python ``round`` (half to even)."""
    if w >= h > MAX_SIZE:
        return MAX_SIZE, round(w / float(h) * MAX_SIZE)
    if h >= w > MAX_SIZE:
        return round(h / float(w) * MAX_SIZE), MAX_SIZE
    return None


def class_map(seg_rgb: np.ndarray) -> np.ndarray:
    """ADE20K's class index of each pixel from a ``_seg.png`` (H, W, 3) array, int32."""
    r, g = seg_rgb[:, :, 0], seg_rgb[:, :, 1]
    return (r / 10).astype(np.int32) * 256 + g.astype(np.int32)


def to_train_ids(lab: np.ndarray, mapping: Dict[int, int]) -> np.ndarray:
    """uint16 trainIds of an int32 class map: mapped ids -> 0..846, everything else -> 65535."""
    out = np.zeros_like(lab, dtype=np.uint16) + UNLABELED
    for obj_id in np.unique(lab):
        if obj_id in mapping:
            out[lab == obj_id] = mapping[obj_id]
    return out


def convert_pair(img_path: str, out_img: str, out_lab: str) -> None:
    """One image: CAT-Seg's steps 2-5 (module doc) from ``img_path`` and its ``_seg.png``."""
    import cv2
    from PIL import Image

    seg_path = img_path.replace(".jpg", "_seg.png")  # as CAT-Seg: on the whole path
    with Image.open(seg_path) as io:
        seg = np.array(io)
    if seg.ndim != 3 or seg.shape[2] < 3:
        raise DatasetError(f"{seg_path} is not an RGB class-encoded _seg.png (shape {seg.shape}): "
                           f"extract ADE20K_2021_17_01 again.")
    lab = class_map(seg)
    img = np.asarray(Image.open(img_path))
    h, w = img.shape[0], img.shape[1]
    new = resized_shape(h, w)
    if new is not None:
        h_new, w_new = new
        img = cv2.resize(img, (w_new, h_new), interpolation=cv2.INTER_LINEAR)
        lab = cv2.resize(lab, (w_new, h_new), interpolation=cv2.INTER_NEAREST)
    out = to_train_ids(lab, _ID_MAP)
    tmp = Path(out_img).with_name(f".{Path(out_img).name}.radseg-tmp{os.getpid()}")
    try:
        Image.fromarray(img).save(tmp, format="JPEG")  # PIL defaults, as CAT-Seg's .save(<name>.jpg)
        os.replace(tmp, out_img)
    finally:
        if tmp.exists():
            tmp.unlink()
    save_label16(out, out_lab)


_ID_MAP = id_map()


def _convert_one(task) -> None:
    img_path, out_img, out_lab = task
    try:
        convert_pair(img_path, out_img, out_lab)
    except Exception as e:  # noqa: BLE001 - reported as a one-line user error
        raise worker_error(img_path, e) from None


def _find_root(raw: Path) -> Path:
    for d in (raw, raw / "ADE20K_2021_17_01"):
        if (d / INDEX_NAME).is_file():
            return d
    raise DatasetError(
        f"no {INDEX_NAME} in {raw} or {raw / 'ADE20K_2021_17_01'}: pass --raw the ADE20K_2021_17_01 "
        f"folder of the full ADE20K download (registration at the ADE20K website, docs/DATA.md).")


def load_index(path: Path) -> List[Tuple[str, str]]:
    """``(folder, filename)`` pairs of ``index_ade20k.pkl``."""
    try:
        with open(path, "rb") as f:
            index = pickle.load(f)  # the official index file, read as CAT-Seg reads it
        pairs = list(zip(index["folder"], index["filename"]))
    except Exception as e:  # noqa: BLE001 - damaged or not the index
        raise DatasetError(f"{path} cannot be read as ADE20K's index ({type(e).__name__}: {e}); extract "
                           f"ADE20K_2021_17_01 again.") from None
    if not pairs:
        raise DatasetError(f"{path} lists no images; extract ADE20K_2021_17_01 again.")
    return [(str(a), str(b)) for a, b in pairs]


def _image_path(ade_root: Path, folder: str, filename: str) -> Path:
    """``<dataset dir>/<folder>/<filename>`` as CAT-Seg builds it (``folder`` starts with
    ``ADE20K_2021_17_01/``); also accepted relative to the ADE20K_2021_17_01 folder itself."""
    first = ade_root.parent / folder / filename
    if first.is_file():
        return first
    parts = Path(folder).parts
    alt = ade_root.joinpath(*parts[1:]) / filename if len(parts) > 1 else ade_root / folder / filename
    return alt if alt.is_file() else first


def prepare_ade847(key: str, raw: Path, data_dir: Path, train: bool = False, workers: int = 1) -> PrepareResult:
    ade = _find_root(raw)
    roots = list(candidate_roots(key, data_dir))
    dest = next((r for r in roots if r.exists() and same_path(r, ade)), roots[0])
    res = PrepareResult(key=key, root=dest)
    splits = ["validation"] + (["training"] if train else [])
    for split in splits:
        for sub in (IMG_DIR, LABEL_DIR):
            (dest / sub / split).mkdir(parents=True, exist_ok=True)
            clean_temp_files(dest / sub / split)
        res.label_dirs.append(dest / LABEL_DIR / split)
    tasks, missing = [], []
    for folder, filename in load_index(ade / INDEX_NAME):
        split = split_of(filename)
        if split not in splits:
            continue
        src = _image_path(ade, folder, filename)
        out_img = dest / IMG_DIR / split / filename
        out_lab = dest / LABEL_DIR / split / filename.replace(".jpg", ".tif")
        if out_img.is_file() and label16_is_valid(out_lab, _size_or_none(out_img)):
            res.skipped += 1
        elif not src.is_file() or not Path(str(src).replace(".jpg", "_seg.png")).is_file():
            missing.append(filename)
        else:
            tasks.append((str(src), str(out_img), str(out_lab)))
    if missing and not tasks and not res.skipped:
        raise DatasetError(f"none of the {len(missing)} images of {INDEX_NAME} (or their _seg.png) is under {ade}: "
                           f"extract ADE20K_2021_17_01 again.")
    if missing:  # no image and no label written: left out, so the folder passes its verifier
        from .verify import format_names
        res.warnings.append(f"{len(missing)} images of {INDEX_NAME} (or their _seg.png) are missing under {ade} "
                            f"and are left out (no image, no label written): {format_names(missing)}; extract "
                            f"ADE20K_2021_17_01 again for the full set.")
    run_tasks(_convert_one, tasks, workers=workers, desc=key)
    res.converted = len(tasks)
    if tasks:
        res.notes.append("images re-encoded as JPEG with Pillow's defaults (as CAT-Seg does); labels are "
                         "uint16 TIFFs, 65535 = unlabeled")
    return res


def _size_or_none(path: Path):
    try:
        return image_size(path)
    except DatasetError:
        return None
