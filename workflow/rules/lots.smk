# LOTS (SPEC §4): layerwise origin-target synthesis on the standard classifiers.


def lots_targets():
    return []
