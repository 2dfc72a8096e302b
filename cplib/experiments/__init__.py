"""The experiments: code that runs the method over categories, seeds and settings, and reads and writes its results.

One module per study (``table1``, ``training_curve``, ``scale``, ``localization``, ``recipes``), the Table 1 grid and
its launchers (``grid``, ``launchers``), what a measurement is and what several seeds say (``measurements``,
``margins``), which machine made a result and how far another moves it (``machines``), and the result files
(``results``). The experiments import the method and never a teaching aid or a UI library (``tests/test_layout.py``);
the method never imports them.
"""
