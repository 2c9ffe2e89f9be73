"""Only what pyproject.toml cannot say: the compiled catalogues (locales/*/LC_MESSAGES/*.mo, kept beside
their sources at the top of the project, where pybabel works) go into the wheel as bot/locales/, so an
installed bot speaks English without the checkout. The metadata is in pyproject.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    def run(self):
        super().run()
        root = Path(__file__).resolve().parent / "locales"
        for mo in sorted(root.glob("*/LC_MESSAGES/*.mo")):
            target = Path(self.build_lib) / "bot" / "locales" / mo.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(mo), str(target))

    def get_outputs(self, include_bytecode=True):
        root = Path(__file__).resolve().parent / "locales"
        extra = [str(Path(self.build_lib) / "bot" / "locales" / mo.relative_to(root))
                 for mo in sorted(root.glob("*/LC_MESSAGES/*.mo"))]
        return super().get_outputs(include_bytecode) + extra


setup(cmdclass={"build_py": BuildWithCatalogues})
