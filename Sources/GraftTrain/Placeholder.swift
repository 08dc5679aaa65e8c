public enum GraftTrainX {}
