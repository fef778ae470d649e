"""Coding of intra modes (H.265 §8.4.2-8.4.3): most probable modes and chroma modes.

The three most probable luma modes from the left and above neighbours, the mapping of a
mode to ``prev_intra_luma_pred_flag`` / ``mpm_idx`` / ``rem_intra_luma_pred_mode`` and back,
and the derived chroma mode (DM) with its four alternatives.
"""

from __future__ import annotations

from codeclab.classic.common.reference.intra import CHROMA_MODES, DC, DM_CHROMA, NUM_MODES, PLANAR, VERTICAL


def most_probable_modes(left: int | None, above: int | None) -> tuple[int, int, int]:
    """candModeList of H.265 §8.4.2 from the left (A) and above (B) neighbours' luma modes.

    Pass ``None`` for a neighbour that gives no candidate; the standard then uses DC. That is
    the case when it is unavailable, not intra-coded (or PCM), or, for the above neighbour,
    when it lies in the CTU row above the current block (``yPb - 1 < (yPb >> CtbLog2SizeY) <<
    CtbLog2SizeY``), which spares decoders a line buffer of modes.

    Rules: equal candidates A == B < 2 give (planar, DC, vertical); equal angular ones give A
    and its two angular neighbours ``2 + ((A + 29) % 32)`` and ``2 + ((A - 2 + 1) % 32)``;
    different ones give A, B and the first of planar, DC, vertical that is neither.
    """
    a = DC if left is None else left
    b = DC if above is None else above
    if a == b:
        if a < 2:
            return (PLANAR, DC, VERTICAL)
        return (a, 2 + ((a + 29) % 32), 2 + ((a - 2 + 1) % 32))
    for third in (PLANAR, DC, VERTICAL):
        if third not in (a, b):
            return (a, b, third)
    raise AssertionError("unreachable: two modes cannot exclude three")


def luma_mode_from_syntax(
    mpm: tuple[int, int, int], prev_intra_luma_pred_flag: bool, index: int
) -> int:
    """IntraPredModeY from the coded syntax (§8.4.2).

    With ``prev_intra_luma_pred_flag`` the mode is ``mpm[mpm_idx]``; otherwise ``index`` is
    ``rem_intra_luma_pred_mode`` (0..31), which counts the 32 modes that are not MPMs: the
    mode is ``rem`` incremented once for each MPM (in ascending order) at or below it.
    """
    if prev_intra_luma_pred_flag:
        return mpm[index]
    mode = index
    for candidate in sorted(mpm):
        if mode >= candidate:
            mode += 1
    return mode


def luma_mode_to_syntax(mode: int, mpm: tuple[int, int, int]) -> tuple[bool, int]:
    """The inverse of :func:`luma_mode_from_syntax`: ``(prev_intra_luma_pred_flag, index)``."""
    if mode in mpm:
        return True, mpm.index(mode)
    return False, mode - sum(candidate < mode for candidate in mpm)


def chroma_mode(intra_chroma_pred_mode: int, luma_mode: int) -> int:
    """IntraPredModeC for 4:2:0 and 4:4:4 (H.265 §8.4.3, Table 8-2).

    ``intra_chroma_pred_mode`` 0..3 select planar, vertical, horizontal, DC, replaced by mode
    34 when they equal the luma mode (so no two choices predict alike); 4 (DM) takes the luma
    mode itself. A network luma mode (35 and above, :mod:`~codeclab.classic.common.nnintra`) counts as planar here,
    as VVC's DM treats MIP blocks.
    """
    if luma_mode >= NUM_MODES:
        luma_mode = PLANAR
    if intra_chroma_pred_mode == DM_CHROMA:
        return luma_mode
    mode = CHROMA_MODES[intra_chroma_pred_mode]
    return 34 if mode == luma_mode else mode


def chroma_mode_candidates(luma_mode: int) -> tuple[int, int, int, int, int]:
    """The five chroma modes selectable beside ``luma_mode``, indexed by intra_chroma_pred_mode."""
    return tuple(chroma_mode(i, luma_mode) for i in range(5))  # type: ignore[return-value]
