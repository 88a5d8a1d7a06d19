def pytest_addoption(parser):
    parser.addoption("--update-fixtures", action="store_true", help="rewrite expected SQL in tests/fixtures/rewrite")
