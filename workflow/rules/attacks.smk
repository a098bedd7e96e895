# Attacks of paper 1 (SPEC §2 attack table, §3 Table 3) on the standard classifiers.


def attack_targets():
    return []
