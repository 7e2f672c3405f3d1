"""Estimates of v3's fits that tests pin behaviour at (results/ is git-ignored, so the
fit files are not in a clone): copied from models/gvc_upgrading_v3.md, rounded."""

#: The constrained all-41 fit (results/fit_v3_checks.nc at RK4 1/8, and
#: results/fit_v3_checks_post.nc at rk23: the same estimate to the printed digits).
CONSTRAINED_41 = {
    "Entrant Price Pressure": 0.424, "Share Loss Sensitivity": 6.85,
    "Capability Erosion Rate": 0.0982, "Learning Adaptation Rate": 2.41,
    "Product Local Learning Share": 0.643, "Innovation Depreciation Rate": 0.0256,
    "Shock Order Loss": 0.658, "Innovation Learning Rate": 0.322,
}  # fmt: skip
